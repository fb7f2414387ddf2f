"""The student runtime ``course_utils``: what it imports, what its wheel holds, and ``check()``."""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from course_grader import notebooks
from course_grader.grading.limits import Limits
from course_grader.paths import course_root
from course_utils import self_check

ROOT = course_root()
GRADER_MODULES = ("nbgrader", "dask", "distributed", "course_grader", "course_tooling", "nbclient", "jupyter_client")
SECRETS = (notebooks.SOLUTION_BEGIN, notebooks.HIDDEN_BEGIN, "def solve", "w1exam_solution")


def _student_wheel(tmp: Path) -> Path:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_student_package.py"), "-o", str(tmp)],
                         check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def test_importing_course_utils_imports_no_grader() -> None:
    code = ("import sys, course_utils, course_utils.checks, course_utils.exam, course_utils.plotting\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GRADER_MODULES!r}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_student_wheel_holds_course_utils_only(tmp_path: Path) -> None:
    wheel = _student_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        assert packages == {"course_utils"}, packages
        texts = {n: zf.read(n).decode("utf-8", "replace") for n in names}
    metadata = next(t for n, t in texts.items() if n.endswith("METADATA"))
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if "extra ==" not in r and not r.startswith(("numpy", "matplotlib"))], requires
    for name, text in texts.items():
        assert not any(s in text for s in SECRETS), f"{name} holds a solution, hidden test or solver"
    hidden = [line.strip() for path in (ROOT / "source").rglob("*.ipynb")
              for cell in notebooks.read(path).cells
              for line in notebooks.between_markers(cell.source, notebooks.HIDDEN_BEGIN, notebooks.HIDDEN_END)
              if len(line.strip()) > 30]
    assert hidden and not [h for h in hidden if any(h in t for t in texts.values())]


@pytest.mark.slow
def test_student_wheel_works_in_a_fresh_environment(tmp_path: Path) -> None:
    """Only the student's dependencies: ``import course_utils`` and the data split work, no grader exists."""
    wheel = _student_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-c", str(ROOT / "requirements-lock.txt"), str(wheel)], check=True)
    code = ("import importlib.util, sys, course_utils\n"
            "s = course_utils.banknote_splits()\n"
            "assert s.x_train.shape[1] == 2\n"
            f"assert not [m for m in {GRADER_MODULES!r} if importlib.util.find_spec(m)], 'grader packages installed'\n"
            "print('ok', course_utils.__file__)")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert str(venv) in out.stdout


def _released(assignment: str) -> dict:
    return json.loads(next((ROOT / "release" / assignment).glob("*.ipynb")).read_text())


def _solved(assignment: str) -> dict:
    nb = json.loads(next((ROOT / "source" / assignment).glob("*.ipynb")).read_text())
    for cell in nb["cells"]:
        cell["source"] = notebooks.strip_markers("".join(cell["source"]))
    return nb


def test_check_reports_unanswered_cells_and_passes_solved_work(tmp_path: Path, capsys) -> None:
    released = _released("w1a1_single_neuron")
    answer_cells = [c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    blank = self_check.problems(released)
    assert len(blank) == len(answer_cells) == 6 and all("not answered yet" in p for p in blank)
    for assignment in ("w1a1_single_neuron", "w1exam"):
        path = tmp_path / f"{assignment}.ipynb"
        path.write_text(json.dumps(_solved(assignment)))
        assert self_check.check(path) == [], assignment
    assert "nothing found" in capsys.readouterr().out


def test_check_reports_what_the_grader_cannot_read(tmp_path: Path, capsys) -> None:
    nb = _solved("w1exam")
    answer = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer_neuron")
    answer["source"] = "z = v.X @ v.w + v.b\np_fake = 1 / (1 + np.exp(-z))"
    answer["outputs"] = [{"output_type": "error", "ename": "NameError", "evalue": "v", "traceback": []}]
    answer.setdefault("outputs", []).append(
        {"output_type": "stream", "name": "stdout", "text": "x" * (Limits().output_bytes + 1)})
    path = tmp_path / "exam.ipynb"
    path.write_text(json.dumps(nb))
    found = self_check.check(path)
    assert any("ended in NameError" in p for p in found)
    assert any("uses `v`" in p for p in found)
    assert any("grading keeps" in p for p in found)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert "cannot be read" in self_check.check(broken)[0]
    assert "thing(s) to fix" in capsys.readouterr().out
