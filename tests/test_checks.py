"""The checking helpers hidden tests use: plain copies, clear messages, no expected values leaked."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import checks


class Liar(float):
    """A float that claims to equal everything."""

    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return 0.0

    def __abs__(self):
        return 0.0


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)


def test_to_array_makes_plain_float_copies() -> None:
    fake = np.arange(3.0).view(LyingArray)
    arr = checks.to_array(fake)
    assert type(arr) is np.ndarray and arr.dtype == np.float64
    np.testing.assert_array_equal(arr, [0, 1, 2])
    t = torch.tensor([[1.0], [2.0]], requires_grad=True)
    assert checks.to_array(t * 2).shape == (2, 1)


def test_liars_do_not_pass() -> None:
    with pytest.raises(AssertionError, match="not correct"):
        checks.check_close(Liar(3.0), 0.8205)
    with pytest.raises(AssertionError):
        checks.check_close(np.arange(3.0).view(LyingArray), [5.0, 6.0, 7.0])


def test_check_close_messages_hide_the_expected_value() -> None:
    with pytest.raises(AssertionError) as err:
        checks.check_close(0.75, 0.8205, name="p_fake", hint="Did you add the bias?")
    assert "0.8205" not in str(err.value) and "p_fake" in str(err.value) and "bias" in str(err.value)
    checks.check_close(0.82050001, 0.8205, rtol=1e-4)


def test_shape_messages_explain_the_mistake() -> None:
    with pytest.raises(AssertionError, match=r"keep the column axis"):
        checks.check_shape(np.zeros(5), (5, 1), "predict_no_hidden(X)")
    with pytest.raises(AssertionError, match="transposed"):
        checks.check_shape(np.zeros((1, 2)), (2, 1), "W")
    assert checks.check_shape([[1.0], [2.0]], (2, 1)).shape == (2, 1)


def test_probabilities_and_numbers() -> None:
    with pytest.raises(AssertionError, match=r"\[0, 1\]"):
        checks.check_probabilities([0.2, 1.5])
    with pytest.raises(AssertionError, match="NaN"):
        checks.check_probabilities([0.2, np.nan])
    assert checks.to_number(np.array([[0.5]])) == 0.5
    for bad in ("0.5", None, [1.0, 2.0], float("inf")):
        with pytest.raises(AssertionError):
            checks.to_number(bad)
    assert checks.is_number(np.float32(1)) and not checks.is_number(True)


def test_choice() -> None:
    assert checks.check_choice(" B ", ["a", "b"]) == "b"
    with pytest.raises(AssertionError, match="one of"):
        checks.check_choice("e", ["a", "b"])


def test_helpers_survive_numpy_monkeypatching(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "abs", lambda x: 0 * x)
    monkeypatch.setattr(np, "all", lambda *a, **k: True)
    with pytest.raises(AssertionError):
        checks.check_close([1.0, 2.0], [1.0, 3.0])
