"""One cgroup per sandbox: memory, processes and CPU time of all of a sandbox's processes together.

RLIMIT_AS caps one process; three forked children of 2.5 GiB each are 7.5 GiB for one sandbox.
A cgroup caps them all (tmpfs files the sandbox writes count too). Where the sandbox cgroups go:

* cgroup v1 (one hierarchy per controller: ``memory``, ``pids``, ``cpuacct``): as root, children of
  the grader's own cgroup; as an ordinary user, children of ``course-grade-<user>``, a folder root
  delegated once with ``course sandbox delegate USER`` (v1 lets its owner create children, set their
  limits and move its own processes in).
* cgroup v2 (one unified hierarchy): as root, children of ``/sys/fs/cgroup/course-grade``; otherwise a
  delegated parent named by ``$COURSE_CGROUP_PARENT`` (e.g. a systemd unit with ``Delegate=yes``).

:func:`find_parent` says where, or why nowhere; the sandbox then lacks these caps and says so
(see :func:`~.sandbox.shortfalls`).
"""
from __future__ import annotations

import os
import pwd
import shlex
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

FS = Path(os.environ.get("COURSE_CGROUP_FS", "/sys/fs/cgroup"))
V1_CONTROLLERS = ("memory", "pids", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
REQUIRED = ("memory", "pids")


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def delegated_name(user: str) -> str:
    return f"course-grade-{user}"


def _own_v1_paths() -> dict[str, str]:
    """controller -> this process's cgroup path in that v1 hierarchy (from /proc/self/cgroup)."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return own
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                own[controller] = parts[2]
    return own


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


@dataclass(frozen=True)
class CgroupParent:
    """Folders under which this grader may create sandbox cgroups (one per v1 hierarchy, or one v2)."""

    version: int
    dirs: dict[str, Path]  # controller -> parent folder (v2: every controller -> the same folder)

    def describe(self) -> str:
        where = sorted({str(p) for p in self.dirs.values()})
        return f"cgroup v{self.version} ({', '.join(sorted(self.dirs))}) under {', '.join(where)}"


def find_parent() -> tuple[CgroupParent | None, str]:
    """Where sandbox cgroups can be created, or ``(None, why not)``."""
    configured = os.environ.get("COURSE_CGROUP_PARENT")
    if (FS / "cgroup.controllers").is_file() or (configured and (Path(configured) / "cgroup.controllers").is_file()):
        return _find_v2(Path(configured) if configured else None)
    return _find_v1()


def _find_v1() -> tuple[CgroupParent | None, str]:
    root = os.geteuid() == 0
    own = _own_v1_paths()
    dirs: dict[str, Path] = {}
    for controller in V1_CONTROLLERS:
        mount = FS / controller
        if not (mount / "cgroup.procs").is_file():
            continue
        candidates = [mount / own.get(controller, "/").lstrip("/")] if root else []
        candidates.append(mount / delegated_name(_user()))
        usable = next((c for c in candidates if _writable(c)), None)
        if usable is not None:
            dirs[controller] = usable
    missing = [c for c in REQUIRED if c not in dirs]
    if missing:
        hint = ("" if root else f"; root can delegate them once: `sudo course sandbox delegate {_user()}`")
        return None, f"no writable cgroup v1 {' and '.join(missing)} controller for this user{hint}"
    return CgroupParent(1, dirs), ""


def _find_v2(configured: Path | None) -> tuple[CgroupParent | None, str]:
    parent = configured or FS / "course-grade"
    if configured is None:
        if os.geteuid() != 0:
            return None, ("cgroup v2 without a delegated parent: set COURSE_CGROUP_PARENT to a cgroup this "
                          "user owns (e.g. from a systemd unit with Delegate=yes)")
        try:
            parent.mkdir(exist_ok=True)
            _enable_v2(FS, parent)
        except OSError as exc:
            return None, f"cannot create {parent}: {exc}"
    if not _writable(parent):
        return None, f"the cgroup {parent} is not writable by this user"
    control = parent / "cgroup.subtree_control"
    enabled = {c.lstrip("+") for c in control.read_text().split()} if control.is_file() else set()
    missing = [c for c in REQUIRED if c not in enabled]
    if missing:
        return None, f"the cgroup {parent} does not delegate the {' and '.join(missing)} controller"
    return CgroupParent(2, {c: parent for c in V2_CONTROLLERS if c in enabled}), ""


def _enable_v2(root: Path, parent: Path) -> None:
    """Turn the controllers on for ``parent``'s children (and for ``parent`` in the root)."""
    available = set((root / "cgroup.controllers").read_text().split())
    wanted = " ".join(f"+{c}" for c in V2_CONTROLLERS if c in available)
    for folder in (root, parent):
        (folder / "cgroup.subtree_control").write_text(wanted)


def delegate(user: str) -> list[Path]:
    """(root) Create ``course-grade-<user>`` in every v1 hierarchy (or v2) owned by ``user``."""
    entry = pwd.getpwnam(user)
    made = []
    if (FS / "cgroup.controllers").is_file():
        targets = [FS / delegated_name(user)]
    else:
        targets = [FS / c / delegated_name(user) for c in V1_CONTROLLERS if (FS / c / "cgroup.procs").is_file()]
    for target in targets:
        target.mkdir(exist_ok=True)
        if (FS / "cgroup.controllers").is_file():
            _enable_v2(FS, target)
        for path in [target, *(target / f for f in ("cgroup.procs", "tasks", "cgroup.subtree_control"))]:
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)
        made.append(target)
    return made


def _backing_off(seconds: float) -> Iterator[None]:
    """Yields until ``seconds`` have passed, sleeping 2 ms, 4 ms, ... up to 50 ms after each turn."""
    deadline, pause = time.monotonic() + seconds, 0.002
    while time.monotonic() < deadline:
        yield
        time.sleep(pause)
        pause = min(2 * pause, 0.05)


@dataclass
class SandboxCgroup:
    """The cgroups of one sandbox: limits written at creation, processes killed and folders removed by close()."""

    parent: CgroupParent
    memory_bytes: int
    processes: int
    dirs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        name = f"sandbox-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            for controller, parent in self.parent.dirs.items():
                folder = parent / name
                if folder not in self.dirs.values():
                    folder.mkdir()
                self.dirs[controller] = folder
            if self.parent.version == 1:
                self._write("memory", "memory.limit_in_bytes", self.memory_bytes)
                self._write("memory", "memory.memsw.limit_in_bytes", self.memory_bytes, optional=True)  # no swap
                self._write("pids", "pids.max", self.processes)
            else:
                self._write("memory", "memory.max", self.memory_bytes)
                self._write("memory", "memory.swap.max", 0, optional=True)
                self._write("pids", "pids.max", self.processes)
        except OSError:
            self.close()
            raise

    def _write(self, controller: str, name: str, value: int, optional: bool = False) -> None:
        path = self.dirs[controller] / name
        if optional and not path.exists():
            return
        path.write_text(str(value))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes itself into to join this sandbox's cgroups."""
        return sorted({str(folder / "cgroup.procs") for folder in self.dirs.values()})

    def enter_command(self) -> list[str]:
        """A prefix for a command line: the shell moves itself into the cgroups, then execs the command."""
        procs = self.procs_files()
        script = f'for f in {" ".join(shlex.quote(p) for p in procs)}; do echo $$ > "$f" || exit 125; done; exec "$@"'
        return ["/bin/sh", "-c", script, "sh"]

    def _read(self, controller: str, name: str) -> str:
        try:
            return (self.dirs[controller] / name).read_text()
        except (KeyError, OSError):
            return ""

    def cpu_seconds(self) -> float | None:
        """CPU time of every process the sandbox ever ran (reaped and detached ones too)."""
        if self.parent.version == 1:
            usage = self._read("cpuacct", "cpuacct.usage").strip()
            return int(usage) / 1e9 if usage.isdigit() else None
        for line in self._read("cpu", "cpu.stat").splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec" and value.strip().isdigit():
                return int(value) / 1e6
        return None

    def oom_killed(self) -> bool:
        """Did the kernel kill one of the sandbox's processes for passing the memory cap?"""
        text = self._read("memory", "memory.oom_control" if self.parent.version == 1 else "memory.events")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                return True
        return False

    def pids(self) -> list[int]:
        return sorted({int(p) for folder in self.dirs.values() for p in self._pids(folder)})

    @staticmethod
    def _pids(folder: Path) -> list[str]:
        try:
            return (folder / "cgroup.procs").read_text().split()
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL every process in the sandbox (detached ones too); never raises."""
        for _ in _backing_off(5):
            left = self.pids() if self.dirs else []
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def close(self) -> None:
        """Kill whatever still runs in the sandbox and remove its cgroups; never raises."""
        self.kill()
        for folder in sorted(set(self.dirs.values()), reverse=True):
            for _ in _backing_off(2):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy while its last processes exit
                    continue
        self.dirs = {}


def _sweep_stale(parent: CgroupParent) -> None:
    """Remove empty sandbox cgroups left by a grader that was killed (a power cut); never raises."""
    for folder in set(parent.dirs.values()):
        for child in folder.glob("sandbox-*-*"):
            owner = child.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                try:
                    child.rmdir()
                except OSError:
                    pass


def sandbox_cgroup(memory_bytes: int, processes: int) -> tuple[SandboxCgroup | None, str]:
    """A fresh cgroup for one sandbox, or ``(None, why not)``."""
    parent, why = find_parent()
    if parent is None:
        return None, why
    _sweep_stale(parent)
    try:
        return SandboxCgroup(parent, memory_bytes, processes), ""
    except OSError as exc:
        return None, f"cannot create a cgroup under {parent.describe()}: {exc}"
