"""Grades are decided in the grader's process: the wire format, the namespace a test cell runs in,
and a live kernel whose student code lies, patches and snoops, judged by the grader."""
from __future__ import annotations

import math

import nbformat
import numpy as np
import pytest
from nbgrader.preprocessors import Execute

from course_grader.grading import wire
from course_grader.grading.checked_execute import GradeOutsideKernel
from course_grader.grading.grader_checks import _Prelude, free_names, visible_source
from course_grader.grading.kernel_values import Kernel, ModelSnapshot


def _roundtrip(value):
    return wire.decode(wire.encode(value), lambda kind, data: (kind, data))


def test_plain_values_cross_the_wire_unchanged() -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    back = _roundtrip({"a": [1, 2.5, None, "x"], "t": (arr, np.float64(0.25)), "n": float("nan")})
    assert back["a"] == [1, 2.5, None, "x"]
    assert isinstance(back["t"], tuple) and back["t"][0].dtype == np.float32 and np.array_equal(back["t"][0], arr)
    assert back["t"][1] == 0.25 and type(back["t"][1]) is np.float64
    assert math.isnan(back["n"])


def test_lying_numbers_arrive_as_their_plain_value() -> None:
    class Lie(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    back = _roundtrip(Lie(0.5))
    assert type(back) is float and back == 0.5 and back != 0.6


def test_a_huge_answer_is_refused() -> None:
    budget = wire._Budget()
    budget.left = 100
    with pytest.raises(wire.WireError):
        wire.encode(np.zeros(1000), budget)


def test_visible_source_drops_the_hidden_tests() -> None:
    src = "a = 1\n### BEGIN HIDDEN TESTS\nassert secret == 3\n### END HIDDEN TESTS\nb = 2\n"
    assert visible_source(src) == "a = 1\nb = 2\n"


def test_free_names_are_what_the_test_reads_from_outside() -> None:
    import ast

    tree = ast.parse("import numpy as np\n_x = np.ones(2)\nfor _i in range(2):\n    f(_x, g)\n"
                     "def h(y):\n    return y + z\n[k for k in w]\n")
    assert free_names(tree) == ["f", "g", "z", "w"]


def test_locked_cells_define_trusted_names_student_cells_do_not() -> None:
    nb = nbformat.v4.new_notebook()
    locked = {"nbgrader": {"locked": True, "solution": False, "grade": False, "grade_id": "setup"}}
    answer = {"nbgrader": {"locked": False, "solution": True, "grade": False, "grade_id": "answer"}}
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nfrom course_utils import banknote_splits",
                                          metadata=locked),
                nbformat.v4.new_code_cell("s = banknote_splits()\np = predict(s.x_train)", metadata=locked),
                nbformat.v4.new_code_cell("def predict(x):\n    return x", metadata=answer)]
    statements, trusted = _Prelude.of(nb, 3).statements_for(["np", "s", "p", "predict"])
    assert trusted == {"np", "s", "banknote_splits"}
    assert statements == ["import numpy as np", "from course_utils import banknote_splits", "s = banknote_splits()"]


# ---- a live kernel ------------------------------------------------------------------------------

SOLUTION = {"nbgrader": {"grade": False, "solution": True, "locked": False, "grade_id": "answer"}}


def _test_cell(source: str, grade_id: str = "test_sigmoid", points: int = 1):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": grade_id, "points": points}})


SETUP = nbformat.v4.new_code_cell(
    "import numpy as np\nfrom course_utils.checks import check_close, to_array",
    metadata={"nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "setup"}})

TEST = """_v = to_array(sigmoid(np.array([0.0])))
assert _v.shape == (1,), "sigmoid must keep the shape"
### BEGIN HIDDEN TESTS
_z = np.linspace(-3, 3, 7)
_ref = 1 / (1 + np.exp(-_z))
check_close(sigmoid(_z.copy()), _ref, "sigmoid(z)")
### END HIDDEN TESTS
"""


class _Executor(GradeOutsideKernel, Execute):
    pass


def _grade(student_code: str, test: str = TEST) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [SETUP, nbformat.v4.new_code_cell(student_code, metadata=SOLUTION), _test_cell(test)]
    _Executor(timeout=60, kernel_name="python3").preprocess(nb, {"metadata": {"path": "."}})
    return nb


def _errors(nb) -> list[str]:
    return [o.get("evalue", "") for o in nb.cells[-1].outputs if o.output_type == "error"]


@pytest.fixture(scope="module")
def graded() -> dict[str, list[str]]:
    """Several students' test-cell verdicts (one kernel each)."""
    students = {
        "honest": "sum = 0\nmax = None\ndef _one(z):\n    return 1 / (1 + np.exp(-z))\n"
                  "def sigmoid(z):\n    return _one(np.asarray(z, dtype=float))\nprint('hi')",
        "wrong": "def sigmoid(z):\n    return np.tanh(z)",
        "patched_checks": "import course_utils.checks as c\nc.check_close = lambda *a, **k: a[0]\n"
                          "check_close = lambda *a, **k: a[0]\nnp.allclose = lambda *a, **k: True\n"
                          "def sigmoid(z):\n    return np.tanh(z)",
        "snoops_frames": ("import sys\ndef sigmoid(z):\n    for depth in range(1, 12):\n        try:\n"
                          "            f = sys._getframe(depth)\n        except ValueError:\n            break\n"
                          "        if '_ref' in f.f_globals:\n            return f.f_globals['_ref']\n"
                          "    return np.tanh(z)"),
        "lying_array": ("class Lie(np.ndarray):\n    def __eq__(self, o):\n        return True\n"
                        "def sigmoid(z):\n    return np.tanh(np.asarray(z)).view(Lie)"),
    }
    return {name: _errors(_grade(code)) for name, code in students.items()}


def test_honest_habits_pass(graded) -> None:
    assert graded["honest"] == []


@pytest.mark.parametrize("student", ["wrong", "patched_checks", "snoops_frames", "lying_array"])
def test_wrong_work_fails_whatever_the_kernel_does(graded, student: str) -> None:
    assert graded[student] and "sigmoid(z) is not correct" in graded[student][0]


def test_the_kernel_never_sees_the_hidden_test() -> None:
    code = ("import sys\nseen = []\ndef sigmoid(z):\n"
            "    seen.append(str(get_ipython().user_ns.get('_ref', 'none')))\n    return 1 / (1 + np.exp(-z))")
    nb = _grade(code, TEST + "\nassert all(s == 'none' for s in seen), 'the kernel saw the hidden test'\n")
    assert _errors(nb) == []


def test_a_model_is_judged_by_its_weights_not_its_predict() -> None:
    data = {"$": "keras_model", "class": "keras.src.models.sequential.Sequential", "built": True,
            "input_shape": None, "output_shape": None,
            "layers": [{"class": "keras.src.layers.core.dense.Dense", "name": "d", "activation": "relu",
                        "config": {"units": 1}, "weights": [wire.encode(np.array([[2.0]])), wire.encode(np.zeros(1))]}]}
    model = Kernel(lambda ops, what: []).decode(data)
    assert isinstance(model, ModelSnapshot)
    assert np.allclose(model.predict(np.array([[-1.0], [3.0]])), [[0.0], [6.0]])


def test_a_cell_that_only_claims_to_be_locked_is_never_trusted() -> None:
    """OverwriteCells deletes unknown grade ids: a forged "locked" or "grade" cell has none left."""
    from course_grader.grading.grader_checks import is_test_cell

    nb = nbformat.v4.new_notebook()
    forged = {"nbgrader": {"locked": True, "solution": False, "grade": True, "points": 5}}
    nb.cells = [SETUP, nbformat.v4.new_code_cell("check_close = close", metadata=forged)]
    statements, trusted = _Prelude.of(nb, 2).statements_for(["check_close"])
    assert statements == ["from course_utils.checks import check_close"]
    assert not is_test_cell(nb.cells[1])
