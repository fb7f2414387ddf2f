"""The Week-1 exam: per-student variants and typed answers (what the student's kernel uses).

Students have this module installed, so it holds nothing that solves the exam: the variant
generator (the numbers each student gets) and the rules for typed answers.
The reference solution lives in the instructor-only ``instructor/<assignment>_solution.py``.

* **Variants.** :func:`variant_for` derives every number of a student's exam (weights, inputs,
  layer sizes, learning rate...) from ``sha256("<exam seed>:<student id>")``: the same student
  always gets the same variant, two students (almost surely) different answers. The exam seed
  is set by the instructor (``c.Exam.seed`` in ``nbgrader_config.py``) and stamped into the
  released notebook by ``StampExam``; the student id comes from ``$JUPYTERHUB_USER``
  (:func:`my_variant`). The seed is not secret: knowing a variant does not solve it.
* **Typed answers.** Variant questions are answered by *typing numbers* into an answer cell
  (``z = [1.234, -0.56]``; arithmetic and ``np.exp`` on typed numbers are allowed, names such as
  ``v`` are not). The grader reads them from the cell's source with :func:`parse_typed_answers`,
  never from the kernel, so a copied notebook carries the classmate's numbers and scores 0, and
  nothing a kernel does (edited variant cell, ``os.environ``, monkey-patching) changes them.
* **Grading** is done by the nbgrader hooks in :mod:`course_utils.exam_grading` (instructor side):
  they take the student id from the submission folder, give the kernel that student's variant and
  write the true variant and the typed answers into the hidden tests as literals.
"""
from __future__ import annotations

import ast
import hashlib
import math
import operator
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The environment variable JupyterHub sets to the logged-in user: the student id in the hub.
USER_ENV = "JUPYTERHUB_USER"
#: Who the un-released source notebook (and a kernel outside JupyterHub) shows.
DEMO_STUDENT = "demo_student"
#: The seed of the source notebook's demo variant (the released notebook carries the exam seed).
DEMO_SEED = 1
#: The marker of the hidden-test line the grader replaces by literals.
INJECT_MARK = "# __EXAM_INJECT__"
#: grade_id of the locked cell that creates the variant ``v``.
VARIANT_CELL = "variant"

#: answer cell (grade_id) -> the names typed in it.
ANSWER_CELLS: dict[str, tuple[str, ...]] = {
    "answer_neuron": ("z", "p_fake"),
    "answer_boundary": ("x2_boundary",),
    "answer_hidden": ("h", "p_net"),
    "answer_architecture": ("shapes", "n_params"),
    "answer_bce": ("losses", "bce"),
    "answer_sgd": ("w_new", "b_new"),
}
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
    ``exam_grading.StampExam``) and the student id is ``$JUPYTERHUB_USER``. Without an exam seed (the
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


# --------------------------------------------------------------------------------------------
# Typed answers
# --------------------------------------------------------------------------------------------

class TypedAnswerError(ValueError):
    """An answer cell holds something other than typed numbers."""


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.MatMult: operator.matmul}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_NUMPY_FUNCS = {"exp", "log", "log10", "log2", "log1p", "expm1", "sqrt", "tanh", "abs", "array", "asarray",
                "float32", "float64", "mean", "sum", "round", "maximum", "minimum", "dot", "matmul", "transpose",
                "reshape", "clip", "prod", "pi", "e"}
_MATH_FUNCS = {"exp", "log", "log10", "log2", "log1p", "expm1", "sqrt", "tanh", "fabs", "pi", "e", "prod", "fsum"}
_BUILTINS = {"float": float, "int": int, "abs": abs, "round": round, "sum": sum, "min": min, "max": max,
             "list": list, "tuple": tuple, "len": len}
_METHODS = {"T", "reshape", "item", "tolist", "sum", "mean", "ravel", "flatten", "round"}
_MAX_SIZE = 10_000


def _name_problem(name: str) -> str:
    if name == "v":
        return "it uses `v`: type the numbers themselves (an answer that reads the variant is not graded)"
    return f"it uses the name {name!r}: only numbers typed in this cell count as answers"


def _check_size(value: Any) -> Any:
    size = np.size(value) if isinstance(value, (list, tuple, np.ndarray)) else 1
    if size > _MAX_SIZE or (isinstance(value, int) and abs(value) > 10**300):
        raise TypedAnswerError("the typed answer is far too large")
    return value


def _eval_typed(node: ast.AST, env: dict[str, Any]) -> Any:
    """Evaluate a typed-number expression: numbers, lists, arithmetic, np.exp and friends."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            if node.value is Ellipsis:
                raise TypedAnswerError("`...` is not a number: type your answer")
            raise TypedAnswerError(f"{node.value!r} is not a number")
        return _check_size(node.value)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval_typed(e, env) for e in node.elts]
        return _check_size(items if isinstance(node, ast.List) else tuple(items))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval_typed(node.operand, env))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval_typed(node.left, env), _eval_typed(node.right, env)
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int):
            left = float(left)  # no huge integers: a float power overflows (an error) instead
        if isinstance(node.op, ast.Mult) and (isinstance(left, (list, tuple)) or isinstance(right, (list, tuple))):
            raise TypedAnswerError("multiplying a list repeats it: use np.array([...]) for arithmetic on numbers")
        try:
            with np.errstate(all="ignore"):
                return _check_size(_BINOPS[type(node.op)](left, right))
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise TypedAnswerError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in _BUILTINS:
            return _BUILTINS[node.id]
        raise TypedAnswerError(_name_problem(node.id))
    if isinstance(node, ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and base.id not in env:
            if base.id in ("np", "numpy") and node.attr in _NUMPY_FUNCS:
                return getattr(np, node.attr)
            if base.id == "math" and node.attr in _MATH_FUNCS:
                return getattr(math, node.attr)
            if base.id not in ("np", "numpy", "math"):
                raise TypedAnswerError(_name_problem(base.id))
        elif node.attr in _METHODS:
            return getattr(np.asarray(_eval_typed(base, env)), node.attr)
        raise TypedAnswerError(f"{ast.unparse(node)!r} is not allowed in an answer cell")
    if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
        base, index = _eval_typed(node.value, env), _eval_typed(node.slice, env)
        try:
            return base[index] if not isinstance(index, (list, float)) else np.asarray(base)[index]
        except (IndexError, TypeError, KeyError) as exc:
            raise TypedAnswerError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None
    if isinstance(node, ast.Call):
        fn = _eval_typed(node.func, env)
        if not callable(fn):
            raise TypedAnswerError(f"{ast.unparse(node.func)!r} is not a function")
        args = [_eval_typed(a, env) for a in node.args]
        kwargs = {k.arg: _eval_typed(k.value, env) for k in node.keywords if k.arg}
        if len(kwargs) != len(node.keywords):
            raise TypedAnswerError(f"{ast.unparse(node)!r} is not a typed number")
        try:
            with np.errstate(all="ignore"):
                return _check_size(fn(*args, **kwargs))
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise TypedAnswerError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None
    raise TypedAnswerError(f"{ast.unparse(node)!r} is not a typed number")


def parse_typed_answers(source: str, names: tuple[str, ...] | list[str] | None = None) -> dict[str, Any]:
    """The answers typed in an answer cell, read from its source without running it.

    Allowed: assignments of numbers, lists, tuples, arithmetic, ``np.exp``/``np.log``/``np.sqrt``
    (and a few more NumPy and ``math`` functions) on typed numbers, and names typed earlier in
    the same cell. Anything else (``v``, another cell's variable, a function of yours, an import)
    raises :class:`TypedAnswerError` whose message tells the student what to change.
    Returns name -> value for ``names`` (every name assigned when ``names`` is None).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise TypedAnswerError(f"the answer cell is not valid Python (line {exc.lineno}: {exc.msg})") from None
    env: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                                          and isinstance(stmt.value.value, str)):
            continue
        if isinstance(stmt, ast.Raise):
            raise TypedAnswerError("the answer cell still raises an error (delete `raise NotImplementedError()`)")
        if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            raise TypedAnswerError(f"line {stmt.lineno}: an answer cell may only hold assignments such as "
                                   "`z = [1.234, -0.567]`")
        target, value = stmt.targets[0], stmt.value
        if isinstance(target, ast.Name):
            env[target.id] = _eval_typed(value, env)
        elif (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts)
              and all(isinstance(t, ast.Name) for t in target.elts)):
            results = [_eval_typed(v, env) for v in value.elts]
            for t, r in zip(target.elts, results):
                env[t.id] = r
        else:
            raise TypedAnswerError(f"line {stmt.lineno}: assign each answer to a name, e.g. `z = [1.234, -0.567]`")
    wanted = names if names is not None else list(env)
    return {name: _plain(env[name]) for name in wanted if name in env}


def _plain(value: Any) -> Any:
    """Numbers and nested lists (no NumPy types), so the value can be written as a literal."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_answer_cell(source: str | None, answer_cell: str) -> dict[str, Any]:
    """The grader's view of one answer cell: name -> typed value, or ``{"__error__": why}``."""
    names = ANSWER_CELLS[answer_cell]
    if source is None:
        return {"__error__": f"the answer cell {answer_cell!r} is missing from the notebook"}
    try:
        answers = parse_typed_answers(source, names)
    except (TypedAnswerError, RecursionError, MemoryError) as exc:
        reason = str(exc) if isinstance(exc, TypedAnswerError) else "the expression is too complex"
        return {"__error__": f"the answers in {answer_cell!r} are not typed numbers: {reason[:300]}"}
    for name in names:
        if name not in answers:
            continue
        try:
            finite = bool(np.all(np.isfinite(np.asarray(_flatten(answers[name]), dtype=float))))
        except (TypeError, ValueError, ArithmeticError):
            finite = False
        if not finite:
            return {"__error__": f"{name} in {answer_cell!r} is not a number or a list of numbers"}
    return answers


def _flatten(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flatten(v)]
    return [value]


def typed_literal(value: Any) -> str:
    """``value`` written as a student types it: numbers with 6 significant digits, lists, tuples."""
    value = _plain(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(typed_literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{float(value):.6g}"


def typed_source(values: dict[str, Any]) -> str:
    """Answer-cell source typing ``values`` (name -> value) as a student would."""
    return "\n".join(f"{name} = {typed_literal(value)}" for name, value in values.items())


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
    ``exam_grading.InjectExamVariant`` must not grade anything.
    """
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        raise AssertionError("this exam test was not prepared by the grader (course_utils.exam_grading."
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
