"""A fault of the grading machinery is never a student's zero: a sandbox that cannot start makes
`course grade` and `nbgrader autograde` store no score, say so, and exit non-zero."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_grader import cli
from course_grader.course import NbgraderError
from course_grader.grading.runner import grade_assignment
from test_course_grade import ASSIGNMENT, LIMITS, build_course

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]


@pytest.fixture()
def broken_bubblewrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A `bwrap` first on PATH that fails the way a host without user namespaces does."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    path = f"{folder}:{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    return path


def _auto_scores(db_url: str) -> dict[str, list]:
    with Gradebook(db_url) as gb:
        return {sub.student_id: [g.auto_score for nb in sub.notebooks for g in nb.grades]
                for sub in gb.find_assignment(ASSIGNMENT).submissions}


def test_course_grade_with_a_broken_sandbox_stores_no_score_and_exits_non_zero(tmp_path, broken_bubblewrap) -> None:
    course = build_course(tmp_path / "course")
    run = grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, limits=LIMITS)
    students = sorted(p.name for p in (course.root / "submitted").iterdir())
    assert sorted(run.not_graded) == students and not run.graded
    assert run.stopped.startswith("pre-flight failed") and "could not run" in run.stopped, run.stopped
    assert "NOT graded" in run.summary() and "run `course grade` again" in run.summary()
    scores = _auto_scores(course.db_url)
    assert all(score is None for cells in scores.values() for score in cells), scores
    # without the pre-flight, every submission fails the same way: retried, then the run stops early
    run = grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, limits=LIMITS, preflight=False)
    assert sorted(run.not_graded) == students and not run.graded
    assert run.stopped and "submissions failed the same way" in run.stopped and "could not run" in run.stopped
    scores = _auto_scores(course.db_url)
    assert scores and all(score is None for cells in scores.values() for score in cells), scores
    # the command line says so with its exit status
    assert cli.main(["grade", ASSIGNMENT, "--course", str(course.root)]) == 1


def test_nbgrader_autograde_with_a_broken_sandbox_fails_and_stores_no_score(tmp_path, broken_bubblewrap) -> None:
    course = build_course(tmp_path / "course")
    with pytest.raises(NbgraderError) as failure:
        course.autograde(ASSIGNMENT, env={"PATH": broken_bubblewrap})
    assert "NOT graded" in str(failure.value) or "could not run" in str(failure.value)
    scores = _auto_scores(course.db_url)
    assert all(score is None for cells in scores.values() for score in cells), scores


def test_a_reference_solution_that_loses_points_stops_the_run_and_stores_no_score(tmp_path) -> None:
    import json

    course = build_course(tmp_path / "course")
    source = course.root / "source" / ASSIGNMENT / "demo.ipynb"
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sig":
            cell["source"] = "def f(x):\n    return x - 1\n"
    source.write_text(json.dumps(nb))
    run = grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, limits=LIMITS)
    assert run.stopped.startswith("pre-flight failed") and "test_sig" in run.stopped, run.stopped
    assert not run.graded and sorted(run.not_graded) == sorted(p.name for p in (course.root / "submitted").iterdir())
    # submissions that ran beside the pre-flight are in the gradebook, without a score
    scores = _auto_scores(course.db_url)
    assert all(score is None for cells in scores.values() for score in cells), scores


def test_a_submission_past_its_deadline_never_stalls_the_run(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every future has a deadline: a worker that does not answer leaves its submission not graded (no
    stored zero), and the run still finishes with its exports."""
    from course_grader.grading import runner

    monkeypatch.setattr(runner, "future_deadline", lambda limits, notebooks: 0.01)
    course = build_course(tmp_path / "course")
    started = __import__("time").monotonic()
    run = grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, limits=LIMITS, preflight=False)
    assert __import__("time").monotonic() - started < 120
    assert run.not_graded and not run.graded
    assert all("deadline" in " ".join(reasons) for reasons in run.not_graded.values()), run.not_graded
    assert "grades CSV" in run.outputs and run.outputs["grades CSV"].exists()
    scores = _auto_scores(course.db_url)
    assert all(score is None for cells in scores.values() for score in cells), scores
