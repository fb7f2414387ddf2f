"""One ``course grade`` run per assignment at a time: an exclusive lock on ``grading-state/<assignment>.lock``."""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class GradingBusy(RuntimeError):
    """Another ``course grade`` run holds the assignment."""


@contextmanager
def assignment_lock(root: Path, assignment: str) -> Iterator[Path]:
    """Hold the assignment's lock for the ``with`` block; :class:`GradingBusy` when another run holds it.

    The lock is an ``flock`` on an open file: the kernel drops it when its holder exits, even
    when killed, so a crashed run never leaves the assignment locked.
    """
    path = Path(root) / "grading-state" / f"{assignment}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise GradingBusy(f"{assignment} is being graded by {holder}: wait for that run to finish "
                              f"(or stop it), then run `course grade {assignment}` again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)
