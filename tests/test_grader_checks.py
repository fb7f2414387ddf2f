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


def test_the_keras_assignment_is_checked_without_keras_in_the_grader() -> None:
    """Its checks train and compare in NumPy: a grading worker never pays Keras's import (4.5 s of CPU)."""
    import ast

    from course_grader import notebooks

    (path,) = notebooks.notebook_paths(notebooks.source_dir() / "w1a4_keras")
    nb = notebooks.read(path)
    heavy = ("keras", "torch")
    tests = [i for i, cell in enumerate(nb.cells) if notebooks.meta(cell).get("grade") and cell.cell_type == "code"]
    assert len(tests) >= 10
    for index in tests:
        tree = ast.parse(nb.cells[index].source)
        statements, _ = _Prelude.of(nb, index).statements_for(free_names(tree))
        imported = [alias.name for stmt in statements + [nb.cells[index].source]
                    for node in ast.walk(ast.parse(stmt)) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])]
        assert not [m for m in imported if m.split(".")[0] in heavy], (notebooks.meta(nb.cells[index])["grade_id"],
                                                                      imported)


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
        # the kernel's copy of the wire module answers the grader: a forged one can only say what it computes
        "forges_the_wire": ("import sys, types, base64, json\nclass Modules(dict):\n    def get(self, k, d=None):\n"
                            "        if k.startswith('_course_grader_wire'):\n            m = types.ModuleType(k)\n"
                            "            m.serve = lambda ns, req: base64.b64encode(json.dumps([{'value': 0.5}"
                            " for _ in json.loads(base64.b64decode(req))]).encode()).decode()\n            return m\n"
                            "        return dict.get(self, k, d)\nsys.modules = Modules(sys.modules)\n"
                            "def sigmoid(z):\n    return np.tanh(z)"),
    }
    return {name: _errors(_grade(code)) for name, code in students.items()}


def test_honest_habits_pass(graded) -> None:
    assert graded["honest"] == []


@pytest.mark.parametrize("student", ["wrong", "patched_checks", "snoops_frames", "lying_array"])
def test_wrong_work_fails_whatever_the_kernel_does(graded, student: str) -> None:
    assert graded[student] and "sigmoid(z) is not correct" in graded[student][0]


def test_a_forged_wire_in_the_kernel_gains_nothing(graded) -> None:
    assert graded["forges_the_wire"], "a kernel that forges the grader's answers passed"


def test_the_kernel_compiles_the_wire_once_and_its_namespace_stays_the_students() -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("W = [1.0, 2.0]", timeout=30)
        before = kc.execute_interactive("", user_expressions={"n": "sorted(globals())"}, timeout=30)

        def ask():
            reply = kc.execute_interactive("", silent=True, store_history=False, timeout=30, user_expressions={
                "a": wire.kernel_expression(wire.request_text([{"op": "get", "name": "W"}]))})
            return wire.read_answer(eval(reply["content"]["user_expressions"]["a"]["data"]["text/plain"]))

        assert ask() == ask() == [{"value": wire.encode([1.0, 2.0])}]
        reply = kc.execute_interactive("", timeout=30, user_expressions={
            "m": "[k for k in __import__('sys').modules if k.startswith('_course_grader_wire')]", "n": "sorted(globals())"})
        found = reply["content"]["user_expressions"]
        assert len(eval(found["m"]["data"]["text/plain"])) == 1  # one compiled copy, reused
        assert found["n"] == before["content"]["user_expressions"]["n"]  # no name of the grader among the student's
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


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


def test_two_snapshots_of_one_kernel_model_are_the_same_object() -> None:
    from course_utils.checks import same_object

    def snapshot(ref: str):
        return Kernel(lambda ops, what: []).decode({"$": "keras_model", "class": "keras.Sequential", "layers": [],
                                                     "ref": ref})

    assert same_object(snapshot("1"), snapshot("1")) and not same_object(snapshot("1"), snapshot("2"))
    marker = object()
    assert same_object(marker, marker) and not same_object(marker, object())


KERAS_SETUP = nbformat.v4.new_code_cell(
    "import os\nos.environ['KERAS_BACKEND'] = 'torch'\nimport keras\nimport numpy as np\n"
    "from course_utils.checks import check_close",
    metadata={"nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "setup"}})
KERAS_TEST = """_m = build()
### BEGIN HIDDEN TESTS
_w = [np.full((2, 3), 0.5, dtype=np.float32), np.zeros(3, dtype=np.float32), np.ones((3, 1), dtype=np.float32),
      np.zeros(1, dtype=np.float32)]
_m.set_weights(_w)
_x = np.array([[1.0, -2.0], [0.5, 0.5]])
_h = 1 / (1 + np.exp(-(_x @ _w[0])))
check_close(_m.predict(_x, verbose=0), 1 / (1 + np.exp(-(_h @ _w[2]))), "the prediction", atol=1e-5)
### END HIDDEN TESTS
"""
HONEST_MODEL = ("def build():\n    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation='sigmoid'),"
                " keras.layers.Dense(1, activation='sigmoid')])")


@pytest.mark.slow
@pytest.mark.parametrize("student, passes", [
    (HONEST_MODEL, True),
    # the attack: relu inside, a predict that returns the sigmoid network's numbers
    ("class Lying(keras.Sequential):\n    def predict(self, x, **kw):\n        w = self.get_weights()\n"
     "        s = lambda z: 1 / (1 + np.exp(-z))\n        return s(s(np.asarray(x) @ w[0] + w[1]) @ w[2] + w[3])\n"
     "def build():\n    return Lying([keras.Input((2,)), keras.layers.Dense(3, activation='relu'),"
     " keras.layers.Dense(1, activation='sigmoid')])", False),
    # an activation named like the sigmoid that computes relu
    ("def sigmoid(x):\n    return keras.ops.relu(x)\n"
     "def build():\n    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation=sigmoid),"
     " keras.layers.Dense(1, activation='sigmoid')])", False),
])
def test_a_keras_model_is_judged_by_what_it_computes(student: str, passes: bool) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [KERAS_SETUP, nbformat.v4.new_code_cell(student, metadata=SOLUTION), _test_cell(KERAS_TEST)]
    _Executor(timeout=120, kernel_name="python3").preprocess(nb, {"metadata": {"path": "."}})
    assert (_errors(nb) == []) is passes, _errors(nb)


_SEES_MODE = ("### BEGIN HIDDEN TESTS\n"
              "assert False, 'judged under ' + repr(__import__('os').environ.get('NBGRADER_EXECUTION'))\n"
              "### END HIDDEN TESTS\n")


@pytest.mark.parametrize("inherited", [None, "autograde", "validate"])
@pytest.mark.parametrize("reference", [False, True])
def test_the_judge_sets_nbgrader_execution_itself(monkeypatch, inherited, reference: bool) -> None:
    """A submission is judged under ``autograde`` (an exam's unprepared hidden test then fails closed), the
    reference solution (pre-flight) as the instructor runs it, whatever the grading process inherited."""
    import os

    if inherited is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", inherited)
    nb = nbformat.v4.new_notebook()
    nb.cells = [_test_cell(_SEES_MODE)]
    executor = _Executor(timeout=60, kernel_name="python3")
    executor.reference_run = reference
    executor.preprocess(nb, {"metadata": {"path": "."}})
    assert _errors(nb) == [f"judged under {None if reference else 'autograde'!r}"]
    assert os.environ.get("NBGRADER_EXECUTION") == inherited


def test_nbgrader_execution_comes_back_when_the_block_raises(monkeypatch) -> None:
    import os

    from course_grader.grading.execution_mode import nbgrader_execution

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    with pytest.raises(RuntimeError), nbgrader_execution("autograde"):
        assert os.environ["NBGRADER_EXECUTION"] == "autograde"
        raise RuntimeError("a broken notebook")
    assert "NBGRADER_EXECUTION" not in os.environ
