"""Plots the lecture shows: decision boundaries and training curves."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

Predictor = Callable[[np.ndarray], Any]


#: rows per call when a Keras model shades the plane (memory stays small for any Week-1 model)
PREDICT_BATCH = 4096


def _accepts(method: Callable, keyword: str) -> bool:
    """Whether ``method`` takes ``keyword`` (a Keras model's predict does; a hand-made wrapper may not)."""
    import inspect

    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is p.VAR_KEYWORD for p in params)


def _as_probabilities(predict: Predictor | Any, grid: np.ndarray) -> np.ndarray:
    """Call a function or a Keras model on ``grid`` and return a flat float array."""
    if hasattr(predict, "predict") and not callable(getattr(predict, "__wrapped__", None)):
        # a few large batches: Keras's default of 32 rows per batch makes a 150 x 150 grid 700 calls (0.6 s)
        batch = {"batch_size": PREDICT_BATCH} if _accepts(predict.predict, "batch_size") else {}
        out = predict.predict(grid, verbose=0, **batch)
    else:
        out = predict(grid)
    if hasattr(out, "detach"):  # torch tensor
        out = out.detach().cpu().numpy()
    return np.asarray(out, dtype=float).reshape(len(grid))


def plot_decision_boundary(
    predict: Predictor | Any,
    x: np.ndarray,
    y: np.ndarray,
    ax: Any = None,
    title: str | None = None,
    grid_size: int = 150,
    feature_names: tuple[str, str] = ("skewness", "entropy"),
) -> Any:
    """Shade P(forged) over the feature plane, draw the p = 0.5 boundary and the data.

    ``predict`` is a function mapping an (M, 2) array to M probabilities, or a Keras
    model. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    x = np.asarray(x, dtype=float)
    y = np.asarray(y).reshape(-1)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    pad = 0.1 * (x.max(axis=0) - x.min(axis=0))
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], grid_size), np.linspace(lo[1], hi[1], grid_size))
    grid = np.column_stack([g1.ravel(), g2.ravel()]).astype(np.float32)
    prob = _as_probabilities(predict, grid).reshape(g1.shape)
    shade = ax.contourf(g1, g2, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    ax.contour(g1, g2, prob, levels=[0.5], colors="k", linewidths=1.5)
    for label, marker, name in ((0, "o", "genuine (y=0)"), (1, "x", "forged (y=1)")):
        pts = x[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, marker=marker, label=name, c="tab:blue" if label == 0 else "tab:red")
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title)
    ax.figure.colorbar(shade, ax=ax, label="P(forged)")
    return ax


def plot_history(history: Any, metrics: tuple[str, ...] = ("loss", "val_loss"), ax: Any = None, title: str | None = None) -> Any:
    """Plot per-epoch curves from a Keras ``History`` (or its ``.history`` dict)."""
    import matplotlib.pyplot as plt

    curves = getattr(history, "history", history)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for name in metrics:
        if name in curves:
            ax.plot(np.arange(1, len(curves[name]) + 1), curves[name], label=name)
    ax.set_xlabel("epoch")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
