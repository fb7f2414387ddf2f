"""Reference solution of the Week-1 exam (``w1exam``): instructor-only.

Not part of the ``course_utils`` package that students install (the student wheel of
``scripts/build_student_package.py`` holds ``course_utils`` only): with this module a student
could solve any variant. Used by
``course exam preview STUDENT``, by the grader's outside-the-kernel check
(``course_grader.preprocessors.EnforceExamAnswers``), by the corpus (typed answers of a student)
and by ``tests/test_exam.py``. The hidden tests of the exam notebook compute the same numbers
inline; the corpus proves the two agree.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from course_utils.exam import Variant
from course_utils.typed_answers import ANSWER_CELLS, typed_source


def sigmoid(z: Any) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def solve(v: Variant) -> dict[str, Any]:
    """name -> the expected answer of every typed question of variant ``v``."""
    z = v.X @ v.w + v.b
    h = sigmoid(v.x_net @ v.W1 + v.b1)
    p_net = float(sigmoid(h @ v.W2 + v.b2)[0])
    n_in, h1, h2 = v.layers
    shapes = [(n_in, h1), (h1, h2), (h2, 1)]
    y, p = v.y_bce, v.p_bce
    losses = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    g = float(sigmoid(z[0]) - v.y_sgd)  # dL/dz of the BCE of one example
    return {
        "z": z.tolist(),
        "p_fake": sigmoid(z).tolist(),
        "x2_boundary": (-(v.b + v.w[0] * v.x1_query) / v.w[1]).tolist(),
        "h": h.tolist(),
        "p_net": p_net,
        "shapes": shapes,
        "n_params": int(sum(a * b + b for a, b in shapes)),
        "losses": losses.tolist(),
        "bce": float(np.mean(losses)),
        "w_new": (v.w - v.lr * g * v.X[0]).tolist(),
        "b_new": float(v.b - v.lr * g),
    }


def answer_sources(v: Variant) -> dict[str, str]:
    """answer cell grade_id -> what a student who solved variant ``v`` types in it."""
    answers = solve(v)
    return {cell: typed_source({name: answers[name] for name in names}) for cell, names in ANSWER_CELLS.items()}
