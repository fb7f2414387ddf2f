"""The grader's side of typed answers: which test grades which answer cell, tolerances, verdicts.

The answers are read from the answer cells' sources (:mod:`course_utils.typed_answers`), never
from the student's kernel, and compared here with the instructor's solver.
"""
from __future__ import annotations

import re
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from course_utils.exam import VARIANT_CELL, variant_for
from course_utils.typed_answers import ANSWER_CELLS, read_answer_cell

from .. import notebooks

if TYPE_CHECKING:
    from .settings import Exam

#: variant-dependent test cell -> the answer cell it grades.
VARIANT_TESTS: dict[str, str] = {
    "test_neuron": "answer_neuron",
    "test_boundary": "answer_boundary",
    "test_hidden": "answer_hidden",
    "test_architecture": "answer_architecture",
    "test_bce": "answer_bce",
    "test_sgd": "answer_sgd",
}

#: absolute tolerance of each typed answer (students type 4 decimals or more); 0 = exact.
TOLERANCE: dict[str, float] = {
    "z": 2e-3, "p_fake": 2e-3, "x2_boundary": 5e-3, "h": 2e-3, "p_net": 2e-3,
    "shapes": 0.0, "n_params": 0.0, "losses": 2e-3, "bce": 2e-3, "w_new": 2e-3, "b_new": 2e-3,
}

#: The marker of the hidden-test line the grader replaces by literals.
INJECT_MARK = "# __EXAM_INJECT__"

def answers_match(name: str, expected: Any, typed: Any) -> bool:
    """Whether a typed answer equals the expected one within :data:`TOLERANCE`."""
    tol = TOLERANCE.get(name, 2e-3)
    try:
        e = np.asarray(expected, dtype=float)
        t = np.asarray(typed, dtype=float)
    except (TypeError, ValueError, ArithmeticError):
        return False
    if e.shape != t.shape and e.size == t.size == 1:
        e, t = e.reshape(-1), t.reshape(-1)
    if e.shape != t.shape or not np.all(np.isfinite(t)):
        return False
    return bool(np.all(np.abs(t - e) <= tol + (1e-3 * np.abs(e) if tol else 0.0)))


STAMP_RE = re.compile(r"course_utils\.exam\.my_variant\(\s*\)")
SEED_RE = re.compile(r"my_variant\(\s*exam_seed\s*=\s*(-?\d+)\s*\)")
CALL_RE = re.compile(r"course_utils\.exam\.my_variant\([^)]*\)")
INJECT_RE = re.compile(r"^(?P<indent>[ \t]*)_V, _A = course_utils\.exam\.graded_answers\(\s*['\"](?P<cell>\w+)['\"]"
                        r"\s*,\s*globals\(\)\s*\)\s*" + re.escape(INJECT_MARK) + r"[ \t]*$", re.MULTILINE)


def grade_id(cell) -> str | None:
    return notebooks.meta(cell).get("grade_id")


def is_exam(nb) -> bool:
    return any(grade_id(c) == VARIANT_CELL for c in nb.cells)


def set_duedate(db_url: str, assignment: str, exam: Exam, log) -> None:
    """Make the gradebook's due date of the exam the end of the configured exam window."""
    if not exam.end:
        return
    from nbgrader.api import Gradebook

    _, end = exam.window()
    with Gradebook(db_url) as gb:
        current = gb.update_or_create_assignment(assignment)
        if current.duedate != end:
            log.info("exam %s: due date set to %s UTC (c.Exam.end)", assignment, end)
            gb.update_or_create_assignment(assignment, duedate=end)


def released_seed(nb, exam: Exam) -> int:
    """The exam seed in the (restored) locked variant cell, else the configured one."""
    for cell in nb.cells:
        if grade_id(cell) == VARIANT_CELL:
            found = SEED_RE.search(cell.source)
            if found:
                return int(found.group(1))
    return exam.seed


def answer_cell_sources(nb) -> dict[str, str]:
    """answer cell grade_id -> source (the first cell of each id, as nbgrader's DeduplicateIds keeps)."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in ANSWER_CELLS and gid not in out and cell.cell_type == "code":
            out[gid] = cell.source
    return out


def verdicts(nb, student: str, seed: int, solver: ModuleType) -> dict[str, str | None]:
    """Variant test cell -> None when the typed answers of ``nb`` are right for ``student``, else why not.

    Reads the answer cells' sources (never the kernel) and compares with ``solver.solve``.
    """
    expected = solver.solve(variant_for(student, seed))
    sources = answer_cell_sources(nb)
    out: dict[str, str | None] = {}
    for test_cell, answer_cell in VARIANT_TESTS.items():
        answers = read_answer_cell(sources.get(answer_cell), answer_cell)
        if "__error__" in answers:
            out[test_cell] = answers["__error__"]
            continue
        wrong = [name for name in ANSWER_CELLS[answer_cell]
                 if name not in answers or not answers_match(name, expected[name], answers[name])]
        out[test_cell] = (f"{', '.join(wrong)} in {answer_cell!r} not correct for your variant" if wrong else None)
    return out
