"""The nbgrader grading path itself, on a tiny one-cell course (fast, independent of the real notebooks)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course_tooling.corpus_grading import grade_entries, mismatches
from course_grader.paths import course_root

pytestmark = pytest.mark.slow  # grades notebooks

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = tmp_path_factory.mktemp("project")
    shutil.copy2(course_root() / "nbgrader_config.py", project / "nbgrader_config.py")
    (project / "source" / "tiny").mkdir(parents=True)
    shutil.copy2(FIXTURES / "tiny_course_demo.ipynb", project / "source" / "tiny" / "demo.ipynb")
    shutil.copytree(FIXTURES / "tiny_corpus", project / "tests" / "corpus" / "tiny")
    results = grade_entries("tiny", tmp_path_factory.mktemp("course"), project=project)
    return {entry.name: (entry, scores) for entry, scores in results}


def test_reference_full_blank_zero_wrong_zero(tiny_results: dict) -> None:
    assert tiny_results["reference"][1] == {"test_sig": 2.0}
    assert tiny_results["blank"][1] == {"test_sig": 0.0}
    assert tiny_results["wrong"][1] == {"test_sig": 0.0}


def test_warnings_and_c_level_stderr_never_zero_a_test_cell(tiny_results: dict) -> None:
    entry, scores = tiny_results["warns"]
    assert "warnings.warn" in entry.cells["sig"] and "os.write(2" in entry.cells["sig"]
    assert scores == {"test_sig": 2.0}


def test_mismatches_reports_differences(tiny_results: dict) -> None:
    entry, _ = tiny_results["reference"]
    assert mismatches(entry, {"test_sig": 2.0}) == {}
    assert mismatches(entry, {"test_sig": 1.0}) == {"test_sig": (2.0, 1.0)}
    assert mismatches(entry, {}) == {"test_sig": (2.0, None)}
