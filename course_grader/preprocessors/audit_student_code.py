"""``autograde``, before Execute: the static audit of student code."""
from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from .. import audit as integrity
from .. import notebooks

NOT_RUN = "This notebook was not run for grading because its code {findings}. Remove that code and resubmit."


def trusted_sources(resources: dict) -> dict[str, str]:
    """grade_id -> source of every locked cell recorded in the gradebook for this notebook."""
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            return {}
        return {cell.name: cell.source for cell in notebook.source_cells if cell.locked}


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


class AuditStudentCode(NbGraderPreprocessor):
    """Refuse to execute a notebook whose student code could change how the tests run.

    Runs after nbgrader restored the locked cells and before ``Execute``. Student cells
    of an offending notebook are replaced by a ``raise`` (so none of that code runs) and
    every test cell fails with the reason, which reaches the student's feedback.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        cells = student_cells(nb, trusted_sources(resources))
        imported = set().union(*(integrity.imported_names(c.source) for c in nb.cells if c.cell_type == "code"))
        findings = [
            f"cell {index + 1}, {violation}"
            for index, cell in cells
            for violation in integrity.audit(cell.source, imported)
        ]
        if not findings:
            return nb, resources
        message = NOT_RUN.format(findings="; ".join(findings[:5]) + (" …" if len(findings) > 5 else ""))
        self.log.warning("integrity audit failed: %s", message)
        for _, cell in cells:
            cell.source = f"raise RuntimeError({message!r})"
        for cell in notebooks.grade_cells(nb):
            if cell.cell_type == "code":
                cell.source = f"raise AssertionError({message!r})\n" + cell.source
        resources.setdefault("course_integrity", []).extend(findings)
        return nb, resources
