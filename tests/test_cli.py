"""The `course` command's error messages say what went wrong and what to do."""
from __future__ import annotations

from course_grader.cli import explain_nbgrader_error

FAILED_RELEASE = """`nbgrader generate_assignment w1a4_keras --force` failed (1):
[GenerateAssignmentApp | INFO] Converting notebook source/w1a4_keras/keras_banknote.ipynb
      File "/x/nbgrader/preprocessors/savecells.py", line 36, in _create_notebook
        raise RuntimeError(
    RuntimeError: Cannot add or remove cells for notebook 'keras_banknote' because there are submissions associated with it
[GenerateAssignmentApp | ERROR] There was an error processing assignment 'w1a4_keras' for student '.'
"""


def test_a_release_blocked_by_submissions_is_explained() -> None:
    text = explain_nbgrader_error(FAILED_RELEASE)
    assert text.startswith("`nbgrader generate_assignment w1a4_keras --force` failed")
    assert "RuntimeError: Cannot add or remove cells" in text
    assert "File " not in text  # no traceback lines
    assert "move gradebook.db away" in text


def test_other_failures_keep_their_reason_without_advice() -> None:
    text = explain_nbgrader_error("`nbgrader autograde x` failed (1):\n[AutogradeApp | ERROR] No notebooks were matched\n")
    assert "No notebooks were matched" in text and "gradebook.db" not in text
