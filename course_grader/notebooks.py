"""Reading nbgrader notebooks: cell roles, solution extraction, assignment discovery."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import nbformat
from nbformat import NotebookNode

from .paths import course_root

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def source_dir(root: Path | None = None) -> Path:
    """The nbgrader ``source/`` folder of the course."""
    return (root or course_root()) / "source"


def release_dir(root: Path | None = None) -> Path:
    """The generated student versions, ``release/``."""
    return (root or course_root()) / "release"


def assignments(root: Path | None = None) -> list[str]:
    """Names of the assignments under ``source/``, sorted."""
    return sorted(p.name for p in source_dir(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def notebook_paths(folder: Path) -> list[Path]:
    """The notebooks of one assignment folder, sorted, checkpoints excluded."""
    return sorted(p for p in folder.glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def read(path: Path) -> NotebookNode:
    """Read a notebook as nbformat v4."""
    return nbformat.read(str(path), as_version=4)


def meta(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata ({} for ordinary cells)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell: NotebookNode) -> bool:
    return bool(meta(cell).get("solution"))


def is_grade(cell: NotebookNode) -> bool:
    return bool(meta(cell).get("grade"))


def grade_cells(nb: NotebookNode) -> Iterator[NotebookNode]:
    """The autograded test cells (and any other grade cells) in order."""
    return (c for c in nb.cells if is_grade(c))


def max_points(nb: NotebookNode) -> dict[str, float]:
    """grade_id -> points of every grade cell."""
    return {meta(c)["grade_id"]: float(meta(c).get("points", 0)) for c in grade_cells(nb)}


def strip_markers(source: str, begin: str = SOLUTION_BEGIN, end: str = SOLUTION_END) -> str:
    """The cell source with the marker lines removed (what a student who solved it would have)."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (begin, end))


def between_markers(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly inside every ``begin``/``end`` region of ``source``."""
    inside, lines = False, []
    for line in source.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def solution_sources(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> the reference answer (markers removed) of every solution cell."""
    return {meta(c)["grade_id"]: strip_markers(c.source) for c in nb.cells if is_solution(c)}
