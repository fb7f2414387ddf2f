"""course_utils.sgd_reference computes what Keras computes, and the learning-rate check it serves is sane."""
from __future__ import annotations

import os

import numpy as np
import pytest

from course_utils import banknote_splits
from course_utils.sgd_reference import bce_loss, learning_rate_diverges, predict, sgd_step, train_losses


def _keras_step(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray, lr: float) -> list[np.ndarray]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(8, activation="sigmoid"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy")
    model.train_on_batch(x, y)
    return model.get_weights()


@pytest.mark.parametrize("scale", [0.5, 10.0])  # 10: 14 of the 32 probabilities are clipped, their gradient is 0
def test_one_step_is_keras_sgd_step(scale: float) -> None:
    rng = np.random.default_rng(7)
    weights = [rng.normal(0, scale, (2, 8)).astype(np.float32), rng.normal(0, scale, 8).astype(np.float32),
               rng.normal(0, scale, (8, 1)).astype(np.float32), rng.normal(0, scale, 1).astype(np.float32)]
    data = banknote_splits()
    x, y = data.x_train[:32], data.y_train[:32]
    p = predict(weights, x)
    assert scale < 1 or 0.2 < np.mean((p <= 1e-7) | (p >= 1 - 1e-7)) < 0.8
    expected = _keras_step([w.copy() for w in weights], x, y, 3.0)
    mine = [w.copy() for w in weights]
    sgd_step(mine, x, y, 3.0)
    assert any(not np.allclose(a, b) for a, b in zip(mine, weights)), "the step changed nothing"
    for got, want in zip(mine, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_loss_is_keras_binary_crossentropy_with_its_clipping() -> None:
    y = np.array([[1.0], [0.0], [1.0], [0.0]], dtype=np.float32)
    p = np.array([[0.9], [0.2], [0.0], [1.0]], dtype=np.float32)  # the last two are clipped to 1e-7 away
    expected = -np.mean([np.log(0.9), np.log(0.8), np.log(1e-7), np.log(1e-7)])
    assert bce_loss(y, p) == pytest.approx(expected, rel=1e-6)


def test_learning_rates_that_train_do_not_count_as_diverging_and_large_ones_do() -> None:
    data = banknote_splits()
    for lr in (0.1, 0.5, 2.0, 5.0):
        assert not learning_rate_diverges(data.x_train, data.y_train, lr), lr
    for lr in (12.0, 16.0, 30.0, 100.0, 1e4, 1e300):  # 1e300 is inf in float32: the loss is nan
        assert learning_rate_diverges(data.x_train, data.y_train, lr), lr


def test_training_is_deterministic_and_learns_at_the_course_learning_rate() -> None:
    data = banknote_splits()
    first = train_losses(data.x_train, data.y_train, 0.5, seed=3)
    assert first == train_losses(data.x_train, data.y_train, 0.5, seed=3)
    before, after = first
    assert after < before - 0.1
    assert predict([np.zeros((2, 8), np.float32), np.zeros(8, np.float32), np.zeros((8, 1), np.float32),
                    np.zeros(1, np.float32)], data.x_train[:3]).tolist() == [[0.5]] * 3
