"""A power cut in the middle of `course grade`: what was graded stays, a re-run grades only the rest."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_grader.grading.runner import INTERRUPTED, grade_assignment
from test_course_grade import ASSIGNMENT, SOLVED, build_course, submit_code

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]


def wait_for_records(state_file: Path, at_least: int, proc: subprocess.Popen, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_file.is_file():
            students = json.loads(state_file.read_text())["students"]  # never half-written: atomic replace
            if len(students) >= at_least:
                return students
        assert proc.poll() is None, f"course grade ended early ({proc.returncode})"
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} students graded after {timeout} s")


def correct(student: str) -> float:
    """The score of each student of this class: only 'blank' and 'wrong' miss the answer."""
    return 0.0 if student in ("blank", "wrong") else 2.0


def test_a_killed_run_loses_nothing_and_the_rerun_grades_only_the_rest(tmp_path: Path) -> None:
    course = build_course(tmp_path / "course")
    for i in range(8):
        submit_code(course, f"late{i}", SOLVED)
    everyone = {p.name for p in (course.root / "submitted").iterdir()}
    state_file = course.root / "grading-state" / f"{ASSIGNMENT}.json"
    proc = subprocess.Popen([sys.executable, "-m", "course_grader.cli", "grade", ASSIGNMENT, "--course",
                             str(course.root), "--workers", "1"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_records(state_file, 2, proc)
    finally:  # the power cut: coordinator, Dask workers and kernels die at once, no clean-up runs
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    recorded = json.loads(state_file.read_text())["students"]
    assert 2 <= len(recorded) < len(everyone), "the run must be cut off in the middle"
    # an unfinished submission is never left with a score: it scores 0 with the reason until regraded
    from nbgrader.api import Gradebook

    unfinished = []
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            if sub.student_id in recorded:
                continue
            (nb,) = sub.notebooks
            if any(INTERRUPTED in (c.comment or "") for c in nb.comments):
                assert all(g.score == 0 for g in nb.grades), sub.student_id
                unfinished.append(sub.student_id)
            else:  # scored in the instant before its record was written: a fresh score, not a stale one
                assert {g.name: g.score for g in nb.grades} == {"test_sig": correct(sub.student_id)}
    assert unfinished, "the submissions in flight at the cut must be marked as not finished"
    resumed = grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, export=False)
    assert set(resumed.skipped) == set(recorded)
    assert set(resumed.graded) == everyone - set(recorded)
    for student in everyone:
        assert course.scores(ASSIGNMENT, student)["demo"] == {"test_sig": correct(student)}, student
