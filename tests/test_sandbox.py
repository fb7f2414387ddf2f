"""The sandbox's file system, checked with real bubblewrap (fast: no kernel, no notebook)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from course_grader.grading import sandbox
from course_grader.grading.limits import Limits

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")


def test_a_runtime_under_tmp_stays_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout or virtual environment under /tmp is bound over the sandbox's own /tmp, not hidden by it."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="course venv ") as runtime:  # a space in the path too
        (Path(runtime) / "marker.txt").write_text("runtime\n")
        monkeypatch.setattr(sandbox, "_runtime_paths", lambda: [runtime])
        submission, sockets = tmp_path / "submission", tmp_path / "sockets"
        submission.mkdir()
        sockets.mkdir()
        box = sandbox.Sandbox(submission, sockets, Limits(device="cpu"))
        done = subprocess.run(box.command(["/bin/sh", "-c", f'cat "{runtime}/marker.txt"; touch /tmp/x && echo w']),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["runtime", "w"], "the runtime is readable and /tmp is still a writable tmpfs"


def _run(tmp_path: Path, script: str, limits: Limits | None = None) -> subprocess.CompletedProcess:
    submission, sockets = tmp_path / "submission", tmp_path / "sockets"
    submission.mkdir(exist_ok=True)
    sockets.mkdir(exist_ok=True)
    box = sandbox.Sandbox(submission, sockets, limits or Limits(device="cpu"))
    return subprocess.run(box.command(["/bin/sh", "-c", script]), capture_output=True, text=True, timeout=60)


def test_no_grader_variable_reaches_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_DB_URL", "postgresql://grader:s3cret-pw@db/gradebook")
    done = _run(tmp_path, "cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'; echo; env")
    assert done.returncode == 0, done.stderr
    assert "s3cret-pw" not in done.stdout and "COURSE_DB_URL" not in done.stdout
    assert "HOME=/home/student" in done.stdout


def test_dev_shm_is_size_capped(tmp_path: Path) -> None:
    limits = Limits(device="cpu", disk_bytes=8 * 2**20, file_bytes=64 * 2**20)
    done = _run(tmp_path, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=32 2>&1; ls -l /dev/shm/fill", limits)
    assert "No space left on device" in done.stdout, done.stdout + done.stderr
    size = int(done.stdout.split()[-5])  # ls -l: the size column
    assert size <= 8 * 2**20


ESCAPES = r'''
grep -E "NoNewPrivs" /proc/self/status
unshare -Urm true 2>/dev/null && echo ESCAPED-unshare
python3 - <<'PY'
import ctypes, os, threading, subprocess
libc = ctypes.CDLL(None, use_errno=True)
for name, call in (("ptrace", lambda: libc.ptrace(0, 0, 0, 0)),
                   ("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
                   ("unshare", lambda: libc.unshare(0x10000000)), ("keyctl", lambda: libc.syscall(250, 0, 0)),
                   ("bpf", lambda: libc.syscall(321, 0, 0, 0))):
    if call() == 0:
        print("ESCAPED-" + name)
threading.Thread(target=print, args=("thread",)).start()
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", os.waitpid(pid, 0)[1] >> 8, subprocess.run(["echo", "child"], capture_output=True, text=True).stdout)
PY
'''


def test_no_escalation_from_inside(tmp_path: Path) -> None:
    """NoNewPrivs and the seccomp filter: no nested namespaces, mounts, ptrace, keyrings or BPF;
    threads, fork and subprocesses still work."""
    from course_grader.grading import seccomp

    if not seccomp.supported():
        pytest.skip("no seccomp filter for this architecture")
    submission, sockets = tmp_path / "submission", tmp_path / "sockets"
    submission.mkdir()
    sockets.mkdir()
    box = sandbox.Sandbox(submission, sockets, Limits(device="cpu"),
                          seccomp_filter=seccomp.write_filter(tmp_path / "filter.bpf"))
    done = subprocess.run(box.command(["/bin/sh", "-c", ESCAPES]), capture_output=True, text=True, timeout=60)
    assert "ESCAPED" not in done.stdout, done.stdout
    assert "NoNewPrivs:\t1" in done.stdout and "thread" in done.stdout and "fork 7 child" in done.stdout, done.stdout + done.stderr


def test_the_seccomp_program_is_well_formed() -> None:
    from course_grader.grading import seccomp

    for machine in seccomp.SYSCALLS:
        code = seccomp.program(machine)
        assert len(code) % 8 == 0 and len(code) // 8 < 4096
        assert set(seccomp.DENIED) - {"iopl", "ioperm"} <= set(seccomp.SYSCALLS[machine])
