"""``course demo`` grades in a scratch course of its own and says when the grader got a demo student wrong."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_grader.cli import main
from course_grader.paths import course_root
from course_tooling import corpus
from course_tooling.demo_class import MARKER, NotADemoCourse, claim_demo_folder, score_mismatches

ROOT = course_root()


def test_the_demo_refuses_a_folder_that_is_not_its_own(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    real = tmp_path / "my-course"
    real.mkdir()
    (real / "gradebook.db").write_bytes(b"a real semester")
    with pytest.raises(NotADemoCourse, match="not a demo course"):
        claim_demo_folder(real)
    assert main(["demo", "w1a1_single_neuron", "--dir", str(real)]) == 2
    assert "not a demo course" in capsys.readouterr().err
    assert sorted(p.name for p in real.iterdir()) == ["gradebook.db"], "nothing written"
    claim_demo_folder(tmp_path / "new")  # an empty or new folder becomes a demo course
    claim_demo_folder(tmp_path / "new")  # and stays one
    assert (tmp_path / "new" / MARKER).is_file()


class _Graded:
    """A course whose gradebook says what the test wants."""

    def __init__(self, scores: dict[str, dict[str, dict[str, float]]]) -> None:
        self._scores = scores

    def scores(self, assignment: str, student: str) -> dict[str, dict[str, float]]:
        from nbgrader.api import MissingEntry

        if student not in self._scores:
            raise MissingEntry()
        return self._scores[student]


def test_score_mismatches_names_every_student_the_grader_got_wrong() -> None:
    entries = {e.student: e for e in corpus.load_entries("w1a1_single_neuron")}
    ref, blank = entries["reference"], entries["blank"]
    right = {"reference": {"single_neuron": dict(ref.expected)}, "blank": {"single_neuron": dict(blank.expected)}}
    assert score_mismatches(_Graded(right), {"w1a1_single_neuron": ["reference", "blank"]}) == []
    zeroed = {"reference": {"single_neuron": {cell: 0.0 for cell in ref.expected}}}
    found = score_mismatches(_Graded(zeroed), {"w1a1_single_neuron": ["reference", "blank"]})
    assert found[0].startswith("w1a1_single_neuron/reference: ") and "test_sigmoid scored 0.0 (expected 3)" in found[0]
    assert found[1] == "w1a1_single_neuron/blank: not graded"


@pytest.mark.slow
def test_the_demo_grades_one_assignment_end_to_end_outside_the_course(tmp_path: Path) -> None:
    course_files = ("gradebook.db", "submitted", "exports", "feedback", "grading-state", "demo-course")
    before = {name: (ROOT / name).exists() for name in course_files}
    done = subprocess.run([sys.executable, "-m", "course_grader.cli", "demo", "w1a1_single_neuron", "--dir",
                           str(tmp_path / "demo"), "--workers", "2"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"demo course (a scratch folder of its own, never your course): {tmp_path / 'demo'}" in done.stdout
    assert "demo check: all" in done.stdout
    assert (tmp_path / "demo" / "gradebook.db").is_file()
    assert {name: (ROOT / name).exists() for name in course_files} == before, "the demo wrote into the repository"
