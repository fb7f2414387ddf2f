"""Any location: a fresh clone under /tmp, reached through a symlink and a path with a space, with the
virtual environment and the data cache outside it, grades its demo class end to end."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
              pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")]


def test_a_clone_under_tmp_grades_its_demo_class(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/"), "pytest's temporary folders are under /tmp on the course machines"
    clone = tmp_path / "course clone" / "main"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    linked = tmp_path / "linked-course"
    linked.symlink_to(clone)
    env = {**os.environ, "PYTHONPATH": str(linked)}  # the clone's packages, the shared virtual environment
    done = subprocess.run([sys.executable, "-m", "course_grader.cli", "demo", "w1a2_forward_pass", "--workers", "2"],
                          cwd=linked, env=env, capture_output=True, text=True, timeout=1200)
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, output
    assert f"{clone}/demo-course" in done.stdout, output  # it graded inside the clone's own scratch course
    assert "demo check: all" in done.stdout and "NOT GRADED" not in done.stdout, output
