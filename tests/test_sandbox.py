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
