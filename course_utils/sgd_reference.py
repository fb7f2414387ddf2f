"""A NumPy stand-in for a small Keras training run, for checks that must not import Keras.

The Keras notebook asks for a learning rate that makes training blow up. Its check trains the
same network (2 inputs, a sigmoid hidden layer, a sigmoid output, binary cross-entropy, plain
mini-batch SGD) the way Keras does, in float32 with probabilities clipped to [1e-7, 1 - 1e-7]
(no gradient flows through a clipped probability), but in a few milliseconds and from several
seeds: where a loss blows up is chaotic in the learning rate, so one seed would reject
learning rates that plainly diverge in the student's own run.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

EPSILON = 1e-7  # Keras' backend.epsilon(): how close to 0 or 1 a probability may get in the loss


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


def bce_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``p`` for labels ``y``, clipped as Keras clips them."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPSILON, 1.0 - EPSILON)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def sgd_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, learning_rate: float) -> None:
    """One SGD step, in place, of ``[w1, b1, w2, b2]`` on the mean binary cross-entropy of the batch."""
    w1, b1, w2, b2 = weights
    with np.errstate(all="ignore"):
        lr = np.float32(learning_rate)  # beyond float32 it is inf, and the loss nan
        h = _sigmoid(x @ w1 + b1)
        p = _sigmoid(h @ w2 + b2)
        clipped = np.clip(p, EPSILON, 1 - EPSILON)
        d_p = ((1 - y) / (1 - clipped) - y / clipped) / len(x) * ((p > EPSILON) & (p < 1 - EPSILON))
        d_z2 = d_p * p * (1 - p)
        d_z1 = (d_z2 @ w2.T) * h * (1 - h)
        w2 -= lr * (h.T @ d_z2)
        b2 -= lr * d_z2.sum(axis=0)
        w1 -= lr * (x.T @ d_z1)
        b1 -= lr * d_z1.sum(axis=0)


def predict(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The network's probabilities for the rows of ``x``."""
    w1, b1, w2, b2 = weights
    with np.errstate(all="ignore"):
        return _sigmoid(_sigmoid(np.asarray(x, dtype=np.float32) @ w1 + b1) @ w2 + b2)


def train_losses(x: np.ndarray, y: np.ndarray, learning_rate: float, *, hidden: int = 8, epochs: int = 5,
                 batch_size: int = 32, seed: int = 0) -> tuple[float, float]:
    """The training loss before and after ``epochs`` of shuffled mini-batch SGD; may be inf or nan."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32).reshape(len(x), 1)
    weights = [_glorot_uniform(rng, x.shape[1], hidden), np.zeros(hidden, np.float32),
               _glorot_uniform(rng, hidden, 1), np.zeros(1, np.float32)]
    before = bce_loss(y, predict(weights, x))
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            rows = order[start:start + batch_size]
            sgd_step(weights, x[rows], y[rows], learning_rate)
    return before, bce_loss(y, predict(weights, x))


def blows_up(before: float, after: float) -> bool:
    """The loss ended non-finite, or above both its start and 1.0."""
    return not np.isfinite(after) or (after > before and after > 1.0)


def learning_rate_diverges(x: np.ndarray, y: np.ndarray, learning_rate: float,
                           seeds: Iterable[int] = range(16), **training) -> bool:
    """Whether SGD with this learning rate blows the loss up from at least one of ``seeds``' starts."""
    return any(blows_up(*train_losses(x, y, learning_rate, seed=seed, **training)) for seed in seeds)
