"""The static audit of student code: every attack pattern is caught, ordinary answers pass."""
from __future__ import annotations

import pytest

from course_grader import audit as integrity
from course_grader import notebooks
from course_tooling import corpus

ATTACKS = {
    "patch numpy": "import numpy as np\nnp.allclose = lambda *a, **k: True",
    "patch via alias": "import numpy\nlib = numpy\nlib.testing.assert_allclose = print",
    "patch course helper": "from course_utils import checks\nchecks.check_close = None",
    "redefine builtin": "abs = lambda x: 0",
    "lying float": "class F(float):\n    def __eq__(self, other):\n        return True",
    "hide errors": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
    "shell escape": "!cat ../source/a.ipynb",
    "line magic": "%load ../source/a.ipynb",
    "read file": "text = open('gradebook.db').read()",
    "numpy file read": "import numpy as np\nx = np.loadtxt('../../source/answers.csv')",
    "exit": "import os\nos._exit(0)",
    "interrupt": "raise KeyboardInterrupt()",
    "foreign import": "import subprocess",
    "solution import": "from solution import sigmoid",
    "relative import": "from . import secret",
    "eval": "eval('1+1')",
    "builtins escape": "__builtins__.abs = None",
    "dunder walk": "x = ().__class__.__base__.__subclasses__()",
    "frame walk": "import sys\nf = sys._getframe()",
}
ORDINARY = {
    "numpy sigmoid": "import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
    "torch": "import torch\nimport torch.nn.functional as F\ndef f(X):\n    return F.sigmoid(X @ W1 + b1)",
    "keras model": "import keras\nfrom keras import layers\nmodel = keras.Sequential([keras.Input((2,)), layers.Dense(8)])\nmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss='binary_crossentropy')",
    "environment": "import os\nos.environ['KERAS_BACKEND'] = 'torch'",
    "class with init": "class Net:\n    def __init__(self, w):\n        self.w = w",
    "syntax error stays the student's": "def f(:\n    pass",
    "local name like a builtin arg": "def f(x, sum_=0):\n    return x",
}


@pytest.mark.parametrize("name", ATTACKS)
def test_attacks_are_flagged(name: str) -> None:
    assert integrity.audit(ATTACKS[name]), f"{name} not flagged"


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_answers_pass(name: str) -> None:
    assert integrity.audit(ORDINARY[name]) == []


def test_violation_names_line_and_rule() -> None:
    (violation,) = integrity.audit("x = 1\nimport numpy as np\nnp.allclose = None")
    assert violation.line == 3 and "np.allclose" in str(violation)


def test_a_flag_never_changes_the_notebook_it_is_only_reported(monkeypatch) -> None:
    """The audit is a flag for the instructor: the notebook runs unchanged and is graded outside the kernel."""
    import copy

    import nbformat

    from course_grader.preprocessors import audit_student_code
    from course_grader.preprocessors.audit_student_code import AuditStudentCode

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("sum = 0\nhelp(np.exp)\nx = getattr(np, 'exp')(1.0)"),
                nbformat.v4.new_code_cell("assert x > 0", metadata={"nbgrader": {
                    "grade": True, "locked": True, "solution": False, "grade_id": "test_x", "points": 1}})]
    before = copy.deepcopy(nb)
    monkeypatch.setattr(audit_student_code, "trusted_sources", lambda resources: {"test_x": "assert x > 0"})
    after, resources = AuditStudentCode().preprocess(nb, {"nbgrader": {"student": "s", "notebook": "n"}})
    assert after == before
    assert resources["course_review_flags"] and "getattr" in " ".join(resources["course_review_flags"])


def test_patching_a_module_imported_in_another_cell_is_flagged() -> None:
    assert integrity.audit("course_utils.checks.close = lambda *a, **k: True")
    assert integrity.audit("helpers.close = None", imported={"helpers"})
    assert integrity.imported_names("import numpy as np\nfrom course_utils import checks as c") == {"np", "c"}
    assert integrity.audit("class Net:\n    def __init__(self):\n        self.w = 1\nnet = Net()\nnet.w = 2") == []
