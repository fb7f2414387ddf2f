"""The jail a student kernel runs in: bubblewrap namespaces, rlimits and a throw-away uid.

What the kernel sees: the Python runtime (read-only), the course_utils package (read-only),
the data cache (read-only, as ``/opt/course-data``), a copy of *its own* submission folder in
a size-capped tmpfs home, size-capped tmpfs ``/tmp`` and ``/dev/shm``, and the kernel's socket
folder. Nothing of the grader's environment: the sandbox starts from an empty one.
No network (empty network namespace), no other files of the host: not ``source/``, the
gradebook, ``nbgrader_config.py``, other students' submissions or anybody's home.

As root the kernel runs under a uid of its own (one per concurrent sandbox, taken with a
lock file), so RLIMIT_NPROC caps the processes of that one sandbox. Where the host lets the grader
create cgroups (see ``cgroups.py``), every sandbox also gets one: memory, processes and CPU time of
all its processes together. :func:`shortfalls` names the guarantees a host cannot give.
"""
from __future__ import annotations

import fcntl
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import seccomp
from .cgroups import SandboxCgroup
from .device import sandbox_settings
from .limits import Limits

HOME = "/home/student"
SUBMISSION = "/submission"
DATA = "/opt/course-data"
UID_BASE = 61000
UID_SLOTS = 512
SECCOMP_FD = 9
LOCK_DIR = Path(os.environ.get("COURSE_GRADE_LOCK_DIR", "/tmp/course-grade-uids"))
#: Environment variables passed through to the kernel (everything else is dropped).
PASS_ENV = ("LANG", "LC_ALL", "TZ", "MPLBACKEND", "PYTHONWARNINGS", "KERAS_BACKEND", "OMP_NUM_THREADS",
            "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES")


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or prlimit) is missing: refuse to run student code unconfined."""


def shortfalls(cgroup: SandboxCgroup | None, why: str) -> dict[str, str]:
    """Guarantee (``memory``, ``seccomp``) -> why this host cannot give it (empty: all hold).

    Held everywhere bubblewrap runs: no network, a private read-only file system, a cleared
    environment, a size-capped ``/dev``, a process cap per sandbox (its own uid as root, its own user
    namespace otherwise). Held only with a cgroup: memory for all the sandbox's processes together.
    """
    missing = {}
    if cgroup is None:
        missing["memory"] = f"memory is capped per process (RLIMIT_AS), not for the whole sandbox: {why}"
    if not seccomp.supported():
        missing["seccomp"] = f"no seccomp filter for this machine's architecture ({platform.machine()})"
    return missing


def weaker_sandbox_message(missing: dict[str, str]) -> str:
    return ("this sandbox cannot give every guarantee here: " + "; ".join(missing.values())
            + ". Fix that, or accept the weaker sandbox with c.CourseGrade.allow_weaker_sandbox = True "
              "in nbgrader_config.py (`course sandbox check` lists every guarantee)")


def check_tools() -> None:
    for tool in ("bwrap", "prlimit"):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(
                f"`{tool}` not found: student code is only run inside bubblewrap "
                "(install it with `apt-get install -y bubblewrap`)")


class UidLease:
    """A uid nobody else uses while the sandbox runs (root only); released on close."""

    def __init__(self) -> None:
        self.uid: int | None = None
        self._fd: int | None = None
        if os.geteuid() != 0:
            return
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        start = os.getpid() % UID_SLOTS
        for i in range(UID_SLOTS):
            uid = UID_BASE + (start + i) % UID_SLOTS
            fd = os.open(LOCK_DIR / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise SandboxUnavailable("no free sandbox uid")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _course_utils_dir() -> Path:
    import course_utils

    return Path(course_utils.__file__).resolve().parent


def _runtime_paths() -> list[str]:
    """Read-only folders the kernel needs outside /usr: the venv, the base Python, course_utils."""
    paths = {sys.prefix, sys.base_prefix, str(_course_utils_dir())}
    # package folders outside the environment (a .pth-linked or user site-packages): bound too, so the
    # kernel imports what the grader imports; never a checkout's root (only course_utils of it)
    paths |= {p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()}
    paths = {p for p in paths if p and not p.startswith("/usr/") and Path(p).exists()}
    return sorted(p for p in paths if not any(Path(q) in Path(p).parents for q in paths))  # outermost only


def _hidden_paths(bound: list[str]) -> list[str]:
    """Grader packages inside a bound runtime folder (an installed, not editable, course): hidden."""
    import course_grader

    hidden = []
    for package in (Path(course_grader.__file__).resolve().parent, Path(__file__).resolve().parents[2] / "course_tooling"):
        if package.is_dir() and any(Path(p) in package.parents for p in bound):
            hidden.append(str(package))
    return hidden


def _parents(path: str) -> list[str]:
    """bubblewrap arguments creating the ancestors of ``path`` traversable (it makes them 0700)."""
    parts = Path(path).parts[1:-1]
    args: list[str] = []
    for i in range(1, len(parts) + 1):
        args += ["--perms", "0755", "--dir", "/" + "/".join(parts[:i])]
    return args


def sandbox_environment(limits: Limits, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed kernel (nothing else of the grader's passes)."""
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update({
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "NBGRADER_EXECUTION": "autograde",
        "COURSE_DATA_CACHE": DATA,
        "COURSE_DATA_MIRROR": "/nonexistent",
        "JPY_SESSION_NAME": "",
        # the kernel imports exactly the course_utils bound into the sandbox (the grader's own copy)
        "PYTHONPATH": str(_course_utils_dir().parent),
    })
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("KERAS_BACKEND", "torch")  # the course's Keras runs on torch (whatever the grader imported)
    env.update(sandbox_settings(limits.device, limits.gpu_memory_fraction)[1])
    env.update(extra_env or {})
    return env


@dataclass
class Sandbox:
    """Builds the command line that starts ``argv`` jailed."""

    submission_dir: Path  # host folder copied into the sandbox home (read-only source)
    socket_dir: Path  # host folder shared with the kernel for its ipc sockets
    limits: Limits
    data_cache: Path | None = None
    uid: int | None = None
    extra_env: dict[str, str] | None = None
    cgroup: SandboxCgroup | None = None
    seccomp_filter: Path | None = None  # classic BPF for ``bwrap --seccomp`` (see seccomp.py)

    def environment(self) -> dict[str, str]:
        return sandbox_environment(self.limits, self.extra_env)

    def rlimits(self) -> dict[str, int]:
        """Resource limits of every sandboxed process (``RLIMIT_<name>``: soft = hard)."""
        lim = self.limits
        return {"CPU": int(lim.notebook_cpu_s) + 5,  # the watchdog stops it first with a clear message
                "AS": lim.memory_bytes, "NPROC": lim.processes, "FSIZE": lim.file_bytes, "NOFILE": lim.open_files,
                "CORE": 0}

    def rlimit_args(self) -> list[str]:
        # As root the sandbox has a uid of its own, so RLIMIT_NPROC counts its processes only. Unprivileged,
        # the cap is set inside the sandbox's user namespace instead (see command()): the kernel counts
        # processes per user namespace there, so it is the sandbox's cap, not the instructor's.
        limits = {k: v for k, v in self.rlimits().items() if k != "NPROC" or self.uid is not None}
        return [shutil.which("prlimit") or "prlimit", *(f"--{k.lower()}={v}:{v}" for k, v in limits.items()), "--"]

    def bwrap_args(self) -> list[str]:
        if self.uid is None:  # unprivileged: bubblewrap builds a user namespace itself, the last one allowed
            namespaces = ["--unshare-all", "--unshare-user", "--disable-userns"]
        else:  # root: no user namespace (the kernel gets a real uid of its own, see command())
            namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                          "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        args = [shutil.which("bwrap") or "bwrap", *namespaces, "--die-with-parent", "--hostname", "sandbox",
                "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for link in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
            host = Path("/") / link
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{link}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{link}"]
        # The fresh mounts first: a runtime path under /tmp (a checkout or venv there) is bound on top of them.
        device_binds, _ = sandbox_settings(self.limits.device, self.limits.gpu_memory_fraction)
        args += ["--proc", "/proc", "--dev", "/dev", *device_binds,
                 "--perms", "1777", "--size", str(self.limits.disk_bytes), "--tmpfs", "/dev/shm",
                 "--remount-ro", "/dev",  # unprivileged, /dev would be a tmpfs the sandbox's user may fill
                 "--perms", "1777", "--size", str(self.limits.disk_bytes), "--tmpfs", "/tmp",
                 *_parents(HOME), "--perms", "1777", "--size", str(self.limits.disk_bytes), "--tmpfs", HOME]
        runtime = _runtime_paths()
        for path in runtime:
            args += [*_parents(path), "--ro-bind", path, path]
        for path in _hidden_paths(runtime):  # the checks and their expected values stay with the grader
            args += ["--tmpfs", path]
        args += ["--ro-bind", str(self.submission_dir), SUBMISSION,
                 *_parents(str(self.socket_dir)), "--bind", str(self.socket_dir), str(self.socket_dir)]
        if self.data_cache and Path(self.data_cache).is_dir():
            args += [*_parents(DATA), "--ro-bind", str(self.data_cache), DATA]
        args += ["--remount-ro", "/", "--chdir", HOME, "--clearenv"]
        if self.seccomp_filter is not None:  # opened on SECCOMP_FD by command()
            args += ["--seccomp", str(SECCOMP_FD)]
        for key, value in self.environment().items():
            args += ["--setenv", key, value]
        return args

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped: rlimits, bubblewrap, (as root) the sandbox uid, a copy of the submission.

        As root, bubblewrap keeps only CAP_SETUID/CAP_SETGID for ``setpriv``, which drops to the
        sandbox uid with no capabilities at all before any student code runs.
        """
        drop = []
        if self.uid is not None:
            drop = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]
        else:  # the process cap of this sandbox's user namespace
            n = self.limits.processes
            drop = ["/usr/bin/prlimit", f"--nproc={n}:{n}", "--"]
        copy_in = ["/bin/sh", "-c", f'cp -R {SUBMISSION}/. {HOME}/ 2>/dev/null; exec "$@"', "sh"]
        # bubblewrap itself starts from an empty environment: it is pid 1 of the sandbox, and a student
        # can read /proc/1/environ (the instructor's variables: database URLs, tokens).
        clear = ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin"]
        enter = self.cgroup.enter_command() if self.cgroup is not None else []
        if self.seccomp_filter is not None:
            enter = ["/bin/sh", "-c", f'exec "$@" {SECCOMP_FD}<"$0"', str(self.seccomp_filter), *enter]
        return [*enter, *clear, *self.rlimit_args(), *self.bwrap_args(), "--", *drop, *copy_in, *argv]
