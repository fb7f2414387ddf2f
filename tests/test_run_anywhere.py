"""Any location: a fresh clone under /tmp, reached through a symlink and a path with a space, with the
virtual environment and the data cache outside it, grades a class with its own code."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_course_grade import ASSIGNMENT, build_course

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
              pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout to clone")]


def test_a_clone_under_tmp_grades_a_class(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/tmp/"), "pytest's temporary folders are under /tmp on the course machines"
    clone = tmp_path / "course clone" / "main"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    linked = tmp_path / "linked-course"
    linked.symlink_to(clone)
    course = build_course(clone / "a course")
    env = {**os.environ, "PYTHONPATH": str(linked)}  # the clone's packages, the shared virtual environment
    probe = subprocess.run([sys.executable, "-c", "import course_grader, course_utils; "
                            "print(course_grader.__file__); print(course_utils.__file__)"],
                           cwd=linked, env=env, capture_output=True, text=True, check=True)
    assert all(line.startswith(str(clone)) for line in probe.stdout.splitlines()), probe.stdout  # the clone's code runs
    done = subprocess.run([sys.executable, "-m", "course_grader.cli", "grade", ASSIGNMENT, "--course",
                           str(linked / "a course"), "--workers", "2"],
                          cwd=linked, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0 and "NOT GRADED" not in done.stdout, output
    assert course.scores(ASSIGNMENT, "reference")["demo"] == {"test_sig": 2.0}, output
    assert course.scores(ASSIGNMENT, "wrong")["demo"] == {"test_sig": 0.0}, output
