"""``NBGRADER_EXECUTION``, the variable nbgrader sets while it runs a step, set here for one block at a time.

Instructor code reads it: an exam's hidden test refuses to grade anything under ``autograde`` unless
the grader prepared it (:func:`course_utils.exam.graded_answers`), while the instructor's own run of
the reference solution (the pre-flight) must not see it. The grader decides it per test cell, never
leaving it to whatever environment a grading worker inherited. nbgrader's own ``utils.setenv`` is not
used: it leaves the variable set when the block raises.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

VARIABLE = "NBGRADER_EXECUTION"
AUTOGRADE = "autograde"


@contextmanager
def nbgrader_execution(mode: str | None) -> Iterator[None]:
    """Run the block with ``NBGRADER_EXECUTION`` set to ``mode`` (None: unset); the previous value comes back."""
    previous = os.environ.get(VARIABLE)
    if mode is None:
        os.environ.pop(VARIABLE, None)
    else:
        os.environ[VARIABLE] = mode
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = previous
