"""The submission corpus: correct, wrong, blank, partial and malicious notebooks with their expected scores.

Each entry is a YAML file ``tests/corpus/<assignment>/<entry>.yaml``::

    description: what this submission does
    kind: correct | wrong | blank | partial | attack
    base: solution | release     # start from the reference answers or the untouched student version
    cells: {grade_id: new source}  # solution cells replaced in the base
    expected: {grade_id: points}   # the exact score of every grade cell

:func:`build_submission` turns an entry into the notebook a student would hand in.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from nbformat import NotebookNode

from . import notebooks
from .paths import repo_root

KINDS = ("correct", "wrong", "blank", "partial", "attack")


def corpus_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "tests" / "corpus"


@dataclass(frozen=True)
class CorpusEntry:
    """One submission of the corpus and the score each grade cell must get."""

    assignment: str
    name: str
    description: str
    kind: str
    base: str
    expected: dict[str, float]
    cells: dict[str, str] = field(default_factory=dict)
    notebook: str | None = None

    @property
    def student(self) -> str:
        """The nbgrader student id this entry is submitted as."""
        return self.name.replace("-", "_")


def load_entry(path: Path) -> CorpusEntry:
    """Parse and validate one corpus YAML file."""
    data = yaml.safe_load(path.read_text())
    missing = {"description", "kind", "base", "expected"} - set(data)
    if missing:
        raise ValueError(f"{path}: missing keys {sorted(missing)}")
    if data["kind"] not in KINDS:
        raise ValueError(f"{path}: kind must be one of {KINDS}")
    if data["base"] not in ("solution", "release"):
        raise ValueError(f"{path}: base must be 'solution' or 'release'")
    return CorpusEntry(
        assignment=path.parent.name,
        name=path.stem,
        description=str(data["description"]).strip(),
        kind=data["kind"],
        base=data["base"],
        expected={k: float(v) for k, v in data["expected"].items()},
        cells={k: str(v).rstrip("\n") for k, v in (data.get("cells") or {}).items()},
        notebook=data.get("notebook"),
    )


def load_entries(assignment: str, root: Path | None = None) -> list[CorpusEntry]:
    """Every corpus entry of ``assignment``, sorted by name."""
    folder = corpus_dir(root) / assignment
    return [load_entry(p) for p in sorted(folder.glob("*.yaml"))]


def build_submission(entry: CorpusEntry, source_nb: NotebookNode, release_nb: NotebookNode) -> NotebookNode:
    """The student's notebook: the release version with answers filled in as the entry says."""
    answers = notebooks.solution_sources(source_nb) if entry.base == "solution" else {}
    answers.update(entry.cells)
    nb = copy.deepcopy(release_nb)
    known = set()
    for cell in nb.cells:
        grade_id = notebooks.meta(cell).get("grade_id")
        if notebooks.is_solution(cell):
            known.add(grade_id)
            if grade_id in answers:
                cell.source = answers[grade_id]
    unknown = set(entry.cells) - known
    if unknown:
        raise ValueError(f"{entry.assignment}/{entry.name}: no solution cell named {sorted(unknown)}")
    return nb
