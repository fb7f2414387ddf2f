"""``autograde`` sanitize step: drop the empty nbgrader metadata of duplicated cells."""
from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor


class DropEmptyGraderMetadata(NbGraderPreprocessor):
    """Remove the empty ``nbgrader`` metadata ``DeduplicateIds`` leaves on duplicated cells.

    nbgrader 0.9's ``OverwriteCells.add_missing_cells`` expects every ``nbgrader`` dict
    to have a ``grade_id`` and crashes on a duplicated grade cell otherwise; the
    duplicate is just an ordinary (student) cell afterwards.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if "nbgrader" in cell.get("metadata", {}) and not cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources
