"""Typed answers of the exam: the numbers a student types into an answer cell, read without running it.

An answer cell holds assignments of typed numbers (``z = [1.234, -0.56]``); arithmetic and
``np.exp`` and friends on typed numbers are allowed, names such as ``v`` are not. The student's
visible check (:func:`course_utils.exam.check_typed`) and the grader use these same rules, so
what the check accepts is exactly what the grader can read.
"""
from __future__ import annotations

import ast
import math
import operator
from typing import Any

import numpy as np

#: answer cell (grade_id) -> the names typed in it.
ANSWER_CELLS: dict[str, tuple[str, ...]] = {
    "answer_neuron": ("z", "p_fake"),
    "answer_boundary": ("x2_boundary",),
    "answer_hidden": ("h", "p_net"),
    "answer_architecture": ("shapes", "n_params"),
    "answer_bce": ("losses", "bce"),
    "answer_sgd": ("w_new", "b_new"),
}

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
