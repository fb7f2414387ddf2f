"""Every source notebook follows the course's nbgrader conventions; the release is current and leak-free."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from course_grader import notebooks
from course_grader.course import Course
from course_grader.paths import course_root

ROOT = course_root()
ASSIGNMENTS = notebooks.assignments(ROOT)
SOURCES = [p for a in ASSIGNMENTS for p in notebooks.notebook_paths(ROOT / "source" / a)]
IDS = [f"{p.parent.name}/{p.name}" for p in SOURCES]


def test_four_assignments_exist() -> None:
    assert len(ASSIGNMENTS) >= 4, ASSIGNMENTS
    assert all(notebooks.notebook_paths(ROOT / "source" / a) for a in ASSIGNMENTS)


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_cell_conventions(path: Path) -> None:
    nb = notebooks.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = notebooks.meta(code[0])
    assert first.get("locked") and "course_utils.setup()" in code[0].source, "first code cell: locked set-up"
    ids = [notebooks.meta(c)["grade_id"] for c in nb.cells if notebooks.meta(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    grade = list(notebooks.grade_cells(nb))
    assert len(grade) >= 4, "partial credit needs several grade cells"
    for cell in grade:
        m = notebooks.meta(cell)
        assert cell.cell_type == "code" and not m.get("solution"), f"{m['grade_id']}: only autograded test cells"
        assert m.get("locked") and float(m["points"]) > 0, m["grade_id"]
        assert notebooks.HIDDEN_BEGIN in cell.source and notebooks.HIDDEN_END in cell.source, m["grade_id"]
        last = ast.parse(cell.source).body[-1]
        is_print = isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and getattr(last.value.func, "id", "") == "print"
        assert is_print or not isinstance(last, ast.Expr), f"{m['grade_id']}: a final expression would be read as partial credit"
    for cell in nb.cells:
        if notebooks.is_solution(cell):
            assert notebooks.SOLUTION_BEGIN in cell.source and notebooks.SOLUTION_END in cell.source


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = Course.scratch(tmp_path_factory.mktemp("release"), ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        course.generate_assignment(assignment)
    return course.root / "release"


def comparable(path: Path) -> list[tuple]:
    nb = notebooks.read(path)
    return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]


@pytest.mark.slow  # runs nbgrader generate_assignment on every notebook
@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_release_is_up_to_date(path: Path, regenerated: Path) -> None:
    committed = ROOT / "release" / path.parent.name / path.name
    assert committed.exists(), "release/ is missing this notebook: run `course release`"
    assert comparable(committed) == comparable(regenerated / path.parent.name / path.name), (
        "release/ is out of date with source/: run `course release` and commit"
    )


def code_of(line: str) -> str:
    """A line without indentation and trailing comment (how lines are compared)."""
    return line.split("  #")[0].strip()


def distinctive(lines: list[str]) -> set[str]:
    """Lines long enough to identify solution or hidden-test content."""
    return {code_of(ln) for ln in lines if len(code_of(ln)) >= 12 and not ln.strip().startswith("#")}


@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_release_has_no_solution_or_hidden_test(path: Path) -> None:
    source = notebooks.read(path)
    released_file = ROOT / "release" / path.parent.name / path.name
    released = notebooks.read(released_file)
    assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", released_file.read_text())
    visible = {code_of(line) for cell in released.cells for line in cell.source.splitlines()}
    secret, public = set(), set()
    regions = ((notebooks.SOLUTION_BEGIN, notebooks.SOLUTION_END), (notebooks.HIDDEN_BEGIN, notebooks.HIDDEN_END))
    for cell in source.cells:
        inside = set()
        for region in regions:
            inside |= set(notebooks.between_markers(cell.source, *region))
        secret |= distinctive(list(inside))
        public |= {code_of(ln) for ln in cell.source.splitlines() if ln not in inside}  # given to students anyway
    leaked = sorted((secret - public) & visible)
    assert not leaked, f"release shows solution or hidden-test lines: {leaked[:5]}"
    assert all(not c.get("outputs") for c in released.cells if c.cell_type == "code"), "release must carry no outputs"


def test_points_table_in_readme_matches_notebooks() -> None:
    readme = (ROOT / "README.md").read_text()
    for path in SOURCES:
        nb = notebooks.read(path)
        total = sum(notebooks.max_points(nb).values())
        cells = len(notebooks.max_points(nb))
        row = f"| `{path.parent.name}` | `{path.name}` | {cells} | {total:g} |"
        assert row in readme, f"README points table lacks or misstates: {row}"
