"""`course grade` on real assignments: the sandboxed path gives every corpus entry its expected score.

The tiny-course tests prove equality with nbgrader; this proves the sandbox lets real notebooks
work (the banknote data, torch, Keras) and still grades them exactly as the corpus says.
"""
from __future__ import annotations

import shutil

import pytest

from course_grader import notebooks
from course_tooling import corpus
from course_grader.grading.runner import grade_assignment
from course_tooling.corpus_grading import mismatches
from course_grader.course import Course

#: Data + numpy, data + torch, and Keras training (reference and a wrong model only, for time).
CASES = {"w1a2_forward_pass": None, "w1a3_hidden_layers": None, "w1a4_keras": ["reference", "wrong_no_bias"]}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]


@pytest.mark.parametrize("assignment", CASES)
def test_sandboxed_grades_match_the_corpus(assignment: str, tmp_path) -> None:
    course = Course.scratch(tmp_path / "course", [assignment])
    course.generate_assignment(assignment)
    (path,) = notebooks.notebook_paths(course.root / "source" / assignment)
    source = notebooks.read(path)
    released = notebooks.read(course.root / "release" / assignment / path.name)
    entries = [e for e in corpus.load_entries(assignment) if CASES[assignment] is None or e.name in CASES[assignment]]
    for entry in entries:
        course.submit(entry.student, assignment, {path.name: corpus.build_submission(entry, source, released)})
    run = grade_assignment(course.root, assignment, workers=2, progress=False)
    assert not run.failed, run.failed
    wrong = {e.name: bad for e in entries if (bad := mismatches(e, course.scores(assignment, e.student)[path.stem]))}
    assert not wrong, wrong
