"""The submission corpus: correct, wrong, blank, partial and malicious notebooks with their expected scores.

Each entry is a YAML file ``tests/corpus/<assignment>/<entry>.yaml``::

    description: what this submission does
    kind: correct | wrong | blank | partial | attack
    base: solution | release     # start from the reference answers or the untouched student version
    cells: {grade_id: new source}  # solution cells replaced in the base
    edits: [{op: ..., cell: grade_id, ...}]  # structural changes a student could make (see EDITS)
    expected: {grade_id: points}   # the exact score of every grade cell
    student: alice               # optional: the student id it is submitted as (default: the entry's name)
    answers_of: bob              # optional, exams: type the answers of this student's variant
                                 # (default for base solution: the submitting student's own answers)

In an exam entry's ``cells``, ``{{ expression }}`` is replaced by the value of the expression typed
as a number or list, where ``v`` is the variant of ``answers_of`` (default: the submitting student)
and ``np`` is NumPy, e.g. ``z = {{ (v.X @ v.w).tolist() }}`` (the bias forgotten) for any exam seed.

:func:`build_submission` turns an entry into the notebook a student would hand in.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode

from course_grader import notebooks
from course_grader.paths import course_root

KINDS = ("correct", "wrong", "blank", "partial", "attack")
#: Structural edits: delete, duplicate, retype (to), move (before), replace (source), tag (tags),
#: strip_metadata, insert (source, after the cell).
EDITS = ("delete", "duplicate", "retype", "move", "replace", "tag", "strip_metadata", "insert")


def corpus_dir(root: Path | None = None) -> Path:
    return (root or course_root()) / "tests" / "corpus"


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
    edits: tuple[dict, ...] = ()
    notebook: str | None = None
    student_id: str | None = None
    answers_of: str | None = None

    @property
    def student(self) -> str:
        """The nbgrader student id this entry is submitted as."""
        return self.student_id or self.name.replace("-", "_")


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
        edits=tuple(data.get("edits") or ()),
        notebook=data.get("notebook"),
        student_id=data.get("student"),
        answers_of=data.get("answers_of"),
    )


def load_entries(assignment: str, root: Path | None = None) -> list[CorpusEntry]:
    """Every corpus entry of ``assignment``, sorted by name."""
    folder = corpus_dir(root) / assignment
    return [load_entry(p) for p in sorted(folder.glob("*.yaml"))]


def typed_answers(entry: CorpusEntry, root: Path | None = None) -> dict[str, str]:
    """Exam answer cells as typed by the student ``entry.answers_of`` (default, for base ``solution``:
    the submitting student), from the instructor's solver; {} for assignments that are no exam."""
    who = entry.answers_of or (entry.student if entry.base == "solution" else None)
    if who is None:
        return {}
    from course_utils.exam import variant_for
    from course_grader.exam.settings import exam_config, load_solver

    solver = load_solver(entry.assignment, root=root)
    if solver is None:
        if entry.answers_of:
            raise ValueError(f"{entry.assignment}/{entry.name}: answers_of needs an instructor solver "
                             f"(instructor/{entry.assignment}_solution.py)")
        return {}
    return solver.answer_sources(variant_for(who, exam_config(root).seed))


_TEMPLATE = re.compile(r"\{\{(.+?)\}\}")


def rendered_cells(entry: CorpusEntry, root: Path | None = None) -> dict[str, str]:
    """``entry.cells`` with every ``{{ expression }}`` replaced by its value typed as a literal."""
    if not any("{{" in source for source in entry.cells.values()):
        return dict(entry.cells)
    import numpy as np

    from course_utils.exam import variant_for
    from course_utils.typed_answers import typed_literal
    from course_grader.exam.settings import exam_config

    v = variant_for(entry.answers_of or entry.student, exam_config(root).seed)

    def value(match: re.Match) -> str:
        return typed_literal(eval(match.group(1), {"np": np, "v": v}))  # noqa: S307 (our own test data)

    return {grade_id: _TEMPLATE.sub(value, source) for grade_id, source in entry.cells.items()}


def build_submission(entry: CorpusEntry, source_nb: NotebookNode, release_nb: NotebookNode,
                     root: Path | None = None) -> NotebookNode:
    """The student's notebook: the release version with answers filled in as the entry says."""
    answers = notebooks.solution_sources(source_nb) if entry.base == "solution" else {}
    answers.update(typed_answers(entry, root))
    answers.update(rendered_cells(entry, root))
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
    for edit in entry.edits:
        apply_edit(nb, edit)
    return nb


def _index(nb: NotebookNode, grade_id: str) -> int:
    for index, cell in enumerate(nb.cells):
        if notebooks.meta(cell).get("grade_id") == grade_id:
            return index
    raise ValueError(f"no cell with grade_id {grade_id!r}")


def apply_edit(nb: NotebookNode, edit: dict) -> None:
    """Apply one structural edit (what a student can do in Jupyter) to ``nb`` in place."""
    op = edit["op"]
    if op not in EDITS:
        raise ValueError(f"unknown edit {op!r}; one of {EDITS}")
    index = _index(nb, edit["cell"])
    cell = nb.cells[index]
    if op == "delete":
        del nb.cells[index]
    elif op == "duplicate":
        nb.cells.insert(index + 1, copy.deepcopy(cell))
    elif op == "retype":
        cell.cell_type = edit["to"]
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    elif op == "move":
        del nb.cells[index]
        nb.cells.insert(_index(nb, edit["before"]), cell)
    elif op == "replace":
        cell.source = str(edit["source"]).rstrip("\n")
    elif op == "tag":
        cell.metadata["tags"] = list(edit["tags"])
    elif op == "strip_metadata":
        cell.metadata.pop("nbgrader", None)
    elif op == "insert":
        new = nbformat.v4.new_code_cell(str(edit["source"]).rstrip("\n"))
        new.pop("id", None)
        nb.cells.insert(index + 1, new)
