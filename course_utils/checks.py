"""Checks that visible and hidden tests use to grade student answers.

Every check raises ``AssertionError`` with a message that tells the student what
is wrong (wrong shape, values outside [0, 1], wrong numbers), never the expected
value itself. Student values are converted to plain ``float``/``numpy.ndarray``
copies before any comparison, so objects that lie to ``==`` or ``abs`` gain nothing.
The NumPy functions used are captured when this module is imported (in the locked
set-up cell, before any student code runs).
"""
from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Sequence

import numpy as np

_array = np.array
_float64 = np.float64
_isfinite = np.isfinite
_abs = np.abs
_all = np.all
_any = np.any
_ndarray = np.ndarray
_isfinite_scalar = math.isfinite


def to_array(value: Any, name: str = "the value") -> np.ndarray:
    """A plain float64 ndarray copy of a number, list, NumPy array, torch or Keras tensor."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensor
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, _ndarray):  # backend tensors
        value = value.numpy()
    try:
        arr = _array(value, dtype=_float64, copy=True, subok=False)
    except Exception as exc:
        raise AssertionError(f"{name} must be a number or an array of numbers, got {type(value).__name__}") from exc
    return _array(arr.view(_ndarray), dtype=_float64, copy=True)


def to_number(value: Any, name: str = "the value") -> float:
    """A plain Python float from a number or a one-element array; rejects strings and None."""
    if isinstance(value, (str, bytes)) or value is None:
        raise AssertionError(f"{name} must be a number, got {value!r}")
    arr = to_array(value, name)
    if arr.size != 1:
        raise AssertionError(f"{name} must be a single number, got an array of shape {arr.shape}")
    number = float(arr.reshape(-1)[0].item())
    if not _isfinite_scalar(number):
        raise AssertionError(f"{name} must be a finite number, got {number}")
    return number


def check_shape(value: Any, shape: Sequence[int], name: str = "the result") -> np.ndarray:
    """Assert that ``value`` has exactly ``shape``; return it as a plain array."""
    arr = to_array(value, name)
    expected = tuple(int(s) for s in shape)
    if tuple(arr.shape) != expected:
        hint = ""
        if arr.ndim == len(expected) - 1 and arr.size == int(np.prod(expected)):
            hint = " (a dimension is missing: keep the column axis, e.g. shape (N, 1) not (N,))"
        elif arr.ndim == len(expected) and tuple(reversed(arr.shape)) == expected:
            hint = " (the axes look swapped: is a matrix transposed?)"
        raise AssertionError(f"{name} has shape {tuple(arr.shape)} but shape {expected} is expected{hint}")
    return arr


def check_finite(value: Any, name: str = "the result") -> np.ndarray:
    """Assert that every entry is a finite number (no NaN, no inf)."""
    arr = to_array(value, name)
    if not bool(_all(_isfinite(arr))):
        raise AssertionError(f"{name} contains NaN or infinite values")
    return arr


def check_probabilities(value: Any, name: str = "the result") -> np.ndarray:
    """Assert that every entry lies in [0, 1] (is a probability)."""
    arr = check_finite(value, name)
    if bool(_any(arr < 0.0)) or bool(_any(arr > 1.0)):
        raise AssertionError(
            f"{name} must hold probabilities in [0, 1], but its values range from {arr.min():.4g} to {arr.max():.4g}: "
            "is the sigmoid applied to the output?"
        )
    return arr


def close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """True when the two arrays have equal shapes and all entries agree within tolerance."""
    a, e = to_array(actual), to_array(expected)
    if a.shape != e.shape:
        return False
    if not bool(_all(_isfinite(a))):
        return False
    return bool(_all(_abs(a - e) <= atol + rtol * _abs(e)))


def check_close(
    actual: Any,
    expected: Any,
    name: str = "the result",
    hint: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> np.ndarray:
    """Assert that ``actual`` matches ``expected`` in shape and value; the message never shows ``expected``."""
    e = to_array(expected, "the reference")
    a = check_shape(actual, e.shape, name)
    if not close(a, e, rtol=rtol, atol=atol):
        worst = float(_abs(a - e).max()) if a.size else 0.0
        raise AssertionError(f"{name} is not correct (off by up to {worst:.3g}). {hint}".strip())
    return a


def check_choice(value: Any, options: Sequence[str], name: str = "your answer") -> str:
    """Assert that ``value`` is one of the letters in ``options`` (a multiple-choice answer)."""
    if not isinstance(value, str) or value.strip().lower() not in [o.lower() for o in options]:
        raise AssertionError(f"{name} must be one of {', '.join(repr(o) for o in options)}, got {value!r}")
    return str(value).strip().lower()


def is_number(value: Any) -> bool:
    """True for real numbers (int, float, NumPy scalars), False for bool, str, None."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# ---- Helpers that work on live objects (the student's kernel, the source notebook) and on the
# ---- grader's stand-ins (course_grader.grading.kernel_values), so one test cell serves both.

def is_keras_model(value: Any) -> bool:
    """True for a Keras model, or the grader's snapshot of one."""
    if getattr(type(value), "__course_model_snapshot__", False):
        return True
    import sys

    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


def optimizer_name(model: Any) -> str | None:
    """The class name of a compiled model's optimizer ("SGD", "Adam"...), None if not compiled."""
    if getattr(type(model), "__course_model_snapshot__", False):
        return model.optimizer_name
    optimizer = getattr(model, "optimizer", None)
    return type(optimizer).__name__ if optimizer is not None else None


def learning_rate(model: Any) -> float | None:
    """The learning rate of a compiled model's optimizer, None if not compiled."""
    if getattr(type(model), "__course_model_snapshot__", False):
        return model.learning_rate
    optimizer = getattr(model, "optimizer", None)
    return float(np.asarray(optimizer.learning_rate)) if optimizer is not None else None


def call_with_gradient(fn: Any, *args: Any, wrt: int = 0) -> tuple[Any, Any]:
    """``(fn(*args), d sum(fn(*args)) / d args[wrt])`` with torch autograd; ``args[wrt]`` is a float tensor."""
    if hasattr(fn, "with_gradient"):  # the grader's handle on a student function: autograd runs in the kernel
        return fn.with_gradient(*args, wrt=wrt)
    args = list(args)
    args[wrt] = args[wrt].detach().clone().requires_grad_(True)
    out = fn(*args)
    out.sum().backward()
    return out, args[wrt].grad


@contextlib.contextmanager
def student_globals(namespace: dict, **values: Any):
    """Within the block, the notebook's globals ``values`` are set (then put back as they were).

    A test cell passes ``globals()``: in the student's kernel these are the notebook's globals;
    when the grader runs the cell, ``namespace`` holds its handle on the kernel, which sets them there.
    """
    kernel = namespace.get("__course_kernel__")
    saved = {n: namespace[n] for n in values if n in namespace}
    if kernel is not None:
        kernel.push_globals(values)
    namespace.update(values)
    try:
        yield
    finally:
        for name in values:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)
        if kernel is not None:
            kernel.pop_globals()


def same_object(a: Any, b: Any) -> bool:
    """``a is b`` for live objects; for the grader's snapshots of Keras models: the same model in the kernel."""
    ref_a, ref_b = getattr(a, "kernel_ref", None), getattr(b, "kernel_ref", None)
    if ref_a is not None or ref_b is not None:
        return ref_a is not None and ref_a == ref_b
    return a is b
