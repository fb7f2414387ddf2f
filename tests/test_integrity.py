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


def test_no_correct_or_wrong_corpus_answer_is_flagged() -> None:
    """The audit never costs an honest submission anything: only attack entries trip it."""
    for assignment in notebooks.assignments():
        (path,) = notebooks.notebook_paths(notebooks.source_dir() / assignment)
        answers = notebooks.solution_sources(notebooks.read(path))
        for entry in corpus.load_entries(assignment):
            if entry.kind == "attack":
                continue
            cells = (dict(answers) if entry.base == "solution" else {}) | entry.cells
            for grade_id, source in cells.items():
                assert integrity.audit(source) == [], f"{assignment}/{entry.name}/{grade_id}"


def test_patching_a_module_imported_in_another_cell_is_flagged() -> None:
    assert integrity.audit("course_utils.checks.close = lambda *a, **k: True")
    assert integrity.audit("helpers.close = None", imported={"helpers"})
    assert integrity.imported_names("import numpy as np\nfrom course_utils import checks as c") == {"np", "c"}
    assert integrity.audit("class Net:\n    def __init__(self):\n        self.w = 1\nnet = Net()\nnet.w = 2") == []
