"""The Week-1 exam on the student's side: the variant (the numbers each student gets).

Students have this module installed, so it holds nothing that solves the exam.

* **Variants.** :func:`variant_for` derives every number of a student's exam (weights, inputs,
  layer sizes, learning rate...) from ``sha256("<exam seed>:<student id>")``: the same student
  always gets the same variant, two students (almost surely) different answers. The exam seed
  is set by the instructor (``c.Exam.seed`` in ``nbgrader_config.py``) and stamped into the
  released notebook; the student id comes from ``$JUPYTERHUB_USER`` (:func:`my_variant`).
  The seed is not secret: knowing a variant does not solve it.
* **Typed answers.** Variant questions are answered by typing numbers into an answer cell; the
  rules are in :mod:`course_utils.typed_answers`. :func:`check_typed` (visible tests) tells the
  student whether the grader can read them. The grader (``course_grader.exam``) reads them from
  the cell's source, never from the kernel, and grades the submitting student's true variant.
"""
from __future__ import annotations

import ast
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .typed_answers import ANSWER_CELLS, TypedAnswerError, parse_typed_answers

#: The environment variable JupyterHub sets to the logged-in user: the student id in the hub.
USER_ENV = "JUPYTERHUB_USER"
#: Who the un-released source notebook (and a kernel outside JupyterHub) shows.
DEMO_STUDENT = "demo_student"
#: The seed of the source notebook's demo variant (the released notebook carries the exam seed).
DEMO_SEED = 1
#: grade_id of the locked cell that creates the variant ``v``.
VARIANT_CELL = "variant"



# --------------------------------------------------------------------------------------------
# Variants
# --------------------------------------------------------------------------------------------

def _readonly(values: Any, dtype: Any = float) -> np.ndarray:
    arr = np.array(values, dtype=dtype) + 0  # + 0 turns -0.0 into 0.0
    arr.flags.writeable = False
    return arr


def _fmt(arr: Any) -> str:
    return np.array2string(np.asarray(arr), separator=", ", max_line_width=200,
                           formatter={"float_kind": lambda x: f"{x:g}", "int_kind": str}).replace("\n", "")


@dataclass(frozen=True, eq=False)
class Variant:
    """The numbers of one student's exam. Arrays are read-only NumPy arrays."""

    student_id: str
    exam_seed: int
    # 1-2. the neuron and its decision boundary
    w: np.ndarray          # (2,) weights w1, w2
    b: float               # bias
    X: np.ndarray          # (2, 2) two banknotes, one per row
    x1_query: np.ndarray   # (2,) two values of x1 for the boundary
    # 3. the network with one hidden layer
    W1: np.ndarray         # (2, n_hidden)
    b1: np.ndarray         # (n_hidden,)
    W2: np.ndarray         # (n_hidden, 1)
    b2: np.ndarray         # (1,)
    x_net: np.ndarray      # (2,) one banknote
    # 4. the Keras architecture: inputs, hidden 1, hidden 2 (one sigmoid output unit)
    layers: tuple[int, int, int]
    # 5. binary cross-entropy
    y_bce: np.ndarray      # (5,) labels 0/1
    p_bce: np.ndarray      # (5,) predicted P(y = 1)
    # 6. one gradient-descent step on the first banknote X[0]
    lr: float
    y_sgd: int

    @property
    def n_hidden(self) -> int:
        return int(self.W1.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (what the grader writes into the hidden tests)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out

    def __str__(self) -> str:
        n_in, h1, h2 = self.layers
        return "\n".join([
            f"Exam variant of student {self.student_id!r} (exam seed {self.exam_seed})",
            f"  v.w = {_fmt(self.w)}   v.b = {self.b:g}",
            f"  v.X = {_fmt(self.X)}   (two banknotes, one per row)",
            f"  v.x1_query = {_fmt(self.x1_query)}",
            f"  v.W1 = {_fmt(self.W1)}",
            f"  v.b1 = {_fmt(self.b1)}   v.W2 = {_fmt(self.W2)}   v.b2 = {_fmt(self.b2)}",
            f"  v.x_net = {_fmt(self.x_net)}",
            f"  v.layers = {self.layers}   (inputs {n_in}, hidden {h1} and {h2} units, 1 output unit)",
            f"  v.y_bce = {_fmt(self.y_bce)}   v.p_bce = {_fmt(self.p_bce)}",
            f"  v.lr = {self.lr:g}   v.y_sgd = {self.y_sgd}",
        ])

    __repr__ = __str__


def _rng(student_id: str, exam_seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{int(exam_seed)}:{student_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _signed(rng: np.random.Generator, lo: float, hi: float, decimals: int, size: Any = None) -> np.ndarray:
    """Numbers with |x| in [lo, hi] and a random sign, rounded."""
    magnitude = rng.uniform(lo, hi, size=size)
    sign = rng.choice([-1.0, 1.0], size=size)
    return np.round(sign * magnitude, decimals)


def _sigmoid(z: Any) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def _draw(rng: np.random.Generator, make, ok, what: str):
    for _ in range(10_000):
        candidate = make()
        if ok(*candidate):
            return candidate
    raise RuntimeError(f"could not draw a solvable {what}")  # pragma: no cover (never seen)


def variant_for(student_id: str, exam_seed: int) -> Variant:
    """The exam variant of ``student_id`` under ``exam_seed`` (deterministic, no global state).

    Every variant is solvable by construction: weights and biases are bounded away from 0, every
    probability lies in [0.07, 0.93], and the typical mistakes (bias forgotten, weights swapped,
    1 - p, log10, sum instead of mean, + instead of - in the update) change each answer by more
    than the grading tolerance.
    """
    student_id = str(student_id).strip()
    if not student_id:
        raise ValueError("the student id is empty")
    rng = _rng(student_id, exam_seed)

    def neuron():
        w = _signed(rng, 0.2, 1.5, 2, 2)
        b = float(_signed(rng, 0.2, 2.0, 1))
        X = _signed(rng, 0.5, 3.0, 1, (2, 2))
        x1 = rng.choice(np.arange(-4.0, 4.5, 0.5), size=2, replace=False)
        return w, b, X, x1

    def neuron_ok(w, b, X, x1):
        z = X @ w + b
        swapped = X @ w[::-1] + b
        return (abs(w[1]) >= 0.3 and np.all(np.abs(z) >= 0.25) and np.all(np.abs(z) <= 2.5)
                and abs(z[0] - z[1]) >= 0.3 and np.all(np.abs(swapped - z) >= 0.05))

    w, b, X, x1_query = _draw(rng, neuron, neuron_ok, "neuron")
    n_hidden = int(rng.integers(3, 6))

    def network():
        W1 = _signed(rng, 0.2, 2.0, 1, (2, n_hidden))
        b1 = np.round(rng.uniform(-1.0, 1.0, n_hidden), 1)
        W2 = _signed(rng, 0.3, 2.0, 1, (n_hidden, 1))
        b2 = _signed(rng, 0.1, 1.0, 1, 1)
        x_net = _signed(rng, 0.2, 2.0, 1, 2)
        return W1, b1, W2, b2, x_net

    def network_ok(W1, b1, W2, b2, x_net):
        a1 = x_net @ W1 + b1
        z2 = float((_sigmoid(a1) @ W2 + b2)[0])
        return np.all(np.abs(a1) <= 3.0) and 0.25 <= abs(z2) <= 2.5 and np.abs(b1).sum() >= 0.3

    W1, b1, W2, b2, x_net = _draw(rng, network, network_ok, "network")
    layers = (int(rng.integers(2, 13)), int(rng.integers(4, 41)), int(rng.integers(2, 21)))

    def bce_data():
        return rng.integers(0, 2, 5).astype(float), np.round(rng.uniform(0.05, 0.95, 5), 2)

    y_bce, p_bce = _draw(rng, bce_data, lambda y, p: 1 <= y.sum() <= 4 and np.all(np.abs(p - 0.5) >= 0.02), "BCE")
    lr = float(np.round(rng.uniform(0.1, 0.5), 2))
    y_sgd = int(rng.integers(0, 2))
    return Variant(
        student_id=student_id, exam_seed=int(exam_seed),
        w=_readonly(w), b=float(b), X=_readonly(X), x1_query=_readonly(x1_query),
        W1=_readonly(W1), b1=_readonly(b1), W2=_readonly(W2), b2=_readonly(b2), x_net=_readonly(x_net),
        layers=layers, y_bce=_readonly(y_bce), p_bce=_readonly(p_bce), lr=lr, y_sgd=y_sgd,
    )


def variant_from_dict(data: dict[str, Any]) -> Variant:
    """The inverse of :meth:`Variant.to_dict`."""
    values = dict(data)
    for key in ("w", "X", "x1_query", "W1", "b1", "W2", "b2", "x_net", "y_bce", "p_bce"):
        values[key] = _readonly(values[key])
    values["layers"] = tuple(int(n) for n in values["layers"])
    return Variant(**values)


def my_variant(exam_seed: int | None = None, quiet: bool = False) -> Variant:
    """The variant of the student running this kernel (the notebook's locked variant cell).

    The released notebook calls ``my_variant(exam_seed=<the exam seed>)`` (stamped by
    ``course_grader``'s ``StampExam``) and the student id is ``$JUPYTERHUB_USER``. Without an exam seed (the
    instructor's source notebook) it is the demo variant. When graded, the grader replaces the
    call by ``variant_for(<the submitting student>, <seed>)``: the kernel cannot choose its variant.
    """
    if exam_seed is None:
        return variant_for(DEMO_STUDENT, DEMO_SEED)
    student = os.environ.get(USER_ENV, "").strip()
    if not student:
        if not quiet:
            print(f"NOTE: ${USER_ENV} is not set, so this is the practice variant of {DEMO_STUDENT!r}. "
                  "Your exam is graded on YOUR variant: work on the course JupyterHub.")
        student = DEMO_STUDENT
    return variant_for(student, exam_seed)


# Visible checks of the typed answers, and the source notebook's stand-in for the grader

def _history_sources(namespace: dict[str, Any]) -> list[str]:
    history = namespace.get("In") or namespace.get("_ih") or []
    return [h for h in history if isinstance(h, str)]


def check_typed(answer_cell: str, namespace: dict[str, Any]) -> None:
    """Visible format check: the answers of ``answer_cell`` exist and were typed as numbers.

    Looks up the last executed cell (IPython's input history) that assigns these names and
    reads it as the grader will; raises ``AssertionError`` with the reason when the grader
    could not read it. (The grader reads the answer cell itself, not the kernel's values.)
    """
    names = ANSWER_CELLS[answer_cell]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise AssertionError(f"{', '.join(missing)} not defined: type your answers in the answer cell and run it")
    for source in reversed(_history_sources(namespace)[:-1]):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        assigned = {t.id for stmt in tree.body if isinstance(stmt, ast.Assign) for target in stmt.targets
                    for t in ast.walk(target) if isinstance(t, ast.Name)}
        if assigned & set(names):
            try:
                parse_typed_answers(source, names)
            except TypedAnswerError as exc:
                raise AssertionError(f"the grader reads the numbers typed in the answer cell, and it cannot read "
                                     f"these: {exc}") from None
            return


def graded_answers(answer_cell: str, namespace: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(variant, answers) for a hidden test. The grader replaces this call by literals.

    This fallback only runs in the instructor's source notebook (demo variant, the kernel's
    values). Under ``nbgrader autograde`` it fails closed: a test that was not prepared by
    ``course_grader.preprocessors.InjectExamVariant`` must not grade anything.
    """
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        raise AssertionError("this exam test was not prepared by the grader (course_grader.preprocessors."
                             "InjectExamVariant is missing from c.Autograde.autograde_preprocessors): no points")
    names = ANSWER_CELLS[answer_cell]
    return my_variant(quiet=True).to_dict(), {n: namespace[n] for n in names if n in namespace}


def typed(answers: dict[str, Any], name: str) -> Any:
    """One answer from a hidden test's answers; AssertionError when it cannot be graded."""
    if "__error__" in answers:
        raise AssertionError(answers["__error__"])
    if name not in answers:
        raise AssertionError(f"{name} is not answered (type it in the answer cell)")
    return answers[name]
