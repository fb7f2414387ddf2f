"""``autograde``, before Execute: the static audit of student code, a flag for review (never a grade)."""
from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from .. import audit as integrity
from .. import notebooks

def locked_sources(notebook) -> dict[str, str]:
    """grade_id -> source of every locked cell of a gradebook notebook (nbgrader's ``Notebook``)."""
    return {cell.name: cell.source for cell in notebook.source_cells if cell.locked}


def trusted_sources(resources: dict) -> dict[str, str]:
    """grade_id -> source of every locked cell recorded in the gradebook for this notebook."""
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return {}
        return locked_sources(notebook)


def student_cells(nb: NotebookNode, trusted: dict[str, str]) -> list[tuple[int, NotebookNode]]:
    """(index, cell) of every code cell whose source is not an instructor's locked cell."""
    result = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = notebooks.meta(cell).get("grade_id")
        if grade_id in trusted and cell.source == trusted[grade_id]:
            continue
        result.append((index, cell))
    return result


def findings(nb: NotebookNode, trusted: dict[str, str]) -> list[str]:
    """What the static audit notices in the student's cells ("cell 4, calls exec()"...)."""
    imported = set().union(*(integrity.imported_names(c.source) for c in nb.cells if c.cell_type == "code"))
    return [f"cell {index + 1}, {violation}" for index, cell in student_cells(nb, trusted)
            for violation in integrity.audit(cell.source, imported)]


class AuditStudentCode(NbGraderPreprocessor):
    """Flag student code that reaches into the interpreter, the kernel or files, for the instructor.

    A flag never changes a grade: every grade is decided in the grader's process
    (``course_grader.grading.grader_checks``) and the kernel runs in the sandbox, so such code
    gains nothing. The flags are logged here and listed in ``course grade``'s report.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        found = findings(nb, trusted_sources(resources))
        if found:
            info = resources.get("nbgrader", {})
            self.log.warning("%s/%s: flagged for review (the grade is not affected): %s", info.get("student"),
                             info.get("notebook"), "; ".join(found[:5]) + (" …" if len(found) > 5 else ""))
            resources.setdefault("course_review_flags", []).extend(found)
        return nb, resources
