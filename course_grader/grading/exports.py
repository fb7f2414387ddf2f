"""The files an instructor takes away: nbgrader's grades CSV, a per-cell CSV, feedback, a report."""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from .. import notebooks
from ..preprocessors.feedback_summary import failure_message
from .feedback import export_feedback
from .safe_text import spreadsheet_cell
from .state import GradingState

CELL_COLUMNS = ("student", "assignment", "notebook", "grade_id", "score", "max_score", "comment", "message")
NEEDS_MANUAL_GRADE = "not graded yet: needs manual grading"

__all__ = ["CELL_COLUMNS", "cell_rows", "export_cells_csv", "export_feedback", "export_grades_csv", "write_all"]


def export_grades_csv(db_url: str, dest: Path, assignment: str) -> Path:
    """What ``nbgrader export --CsvExportPlugin.assignment=[assignment]`` writes: nbgrader's own CSV
    plugin and columns, one row per student of the gradebook, for ``assignment`` only."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(db_url) as gb:
        CsvExportPlugin(to=str(dest), assignment=[assignment]).export(gb)
    return dest


def _cell_order(root: Path | None, assignment: str, notebook: str) -> dict[str, int]:
    """grade_id -> position in the source notebook ({} when it cannot be read)."""
    if root is None:
        return {}
    try:
        nb = notebooks.read(root / "source" / assignment / f"{notebook}.ipynb")
    except Exception:  # noqa: BLE001 (no source: alphabetical order)
        return {}
    ids = [notebooks.meta(c).get("grade_id") for c in nb.cells]
    return {grade_id: i for i, grade_id in enumerate(ids) if grade_id}


def _failure_messages(path: Path) -> dict[str, str]:
    """grade_id -> the error message of that cell in the autograded notebook."""
    try:
        nb = notebooks.read(path)
    except Exception:  # noqa: BLE001 (never executed: the comment says why)
        return {}
    out = {}
    for cell in nb.cells:
        grade_id = notebooks.meta(cell).get("grade_id")
        if grade_id and (message := failure_message(cell)):
            out[grade_id] = message
    return out


def cell_rows(db_url: str, assignment: str, state: GradingState, root: Path | None = None) -> list[dict]:
    """One row per student and grade cell, grade cells in notebook order (with ``root``; else alphabetical).

    ``comment``: why the grader stopped, cut or refused the cell or notebook (``state``), or that it
    still needs a manual grade; ``message``: for a cell that lost points, its error message in the
    autograded notebook (needs ``root``).
    """
    rows = []
    orders: dict[str, dict[str, int]] = {}
    with Gradebook(db_url) as gb:
        for submission in sorted(gb.find_assignment(assignment).submissions, key=lambda s: s.student_id):
            notes = state.students.get(submission.student_id, {}).get("comments", {})
            for nb in sorted(submission.notebooks, key=lambda n: n.name):
                reasons = notes.get(nb.name, {})
                grade_ids = {g.name for g in nb.grades}
                general = "; ".join(f"{k}: {v}" for k, v in sorted(reasons.items()) if k not in grade_ids and k != "*")
                order = orders.setdefault(nb.name, _cell_order(root, assignment, nb.name))
                messages = {} if root is None else _failure_messages(
                    root / "autograded" / submission.student_id / assignment / f"{nb.name}.ipynb")
                for grade in sorted(nb.grades, key=lambda g: (order.get(g.name, len(order)), g.name)):
                    score, max_score = float(grade.score), float(grade.max_score)
                    comment = reasons.get(grade.name) or reasons.get("*") or general
                    if not comment and grade.needs_manual_grade:
                        comment = NEEDS_MANUAL_GRADE
                    rows.append({"student": submission.student_id, "assignment": assignment, "notebook": nb.name,
                                 "grade_id": grade.name, "score": score, "max_score": max_score, "comment": comment,
                                 "message": messages.get(grade.name, "") if score < max_score else ""})
    return rows


def review_flags(db_url: str, assignment: str, root: Path) -> dict[str, list[str]]:
    """student -> what the static audit noticed in their code (for review; grades are not affected)."""
    from ..preprocessors.audit_student_code import findings, locked_sources

    flags: dict[str, list[str]] = {}
    with Gradebook(db_url) as gb:
        trusted = {nb.name: locked_sources(nb) for nb in gb.find_assignment(assignment).notebooks}
        students = sorted(s.student_id for s in gb.find_assignment(assignment).submissions)
    for student in students:
        for name, locked in sorted(trusted.items()):
            path = root / "autograded" / student / assignment / f"{name}.ipynb"
            try:
                found = findings(notebooks.read(path), locked)
            except Exception:  # noqa: BLE001 - a notebook that cannot be read is reported elsewhere
                continue
            flags.setdefault(student, []).extend(f"{name}: {f}" for f in found)
    return {s: f for s, f in flags.items() if f}


def export_cells_csv(rows: list[dict], dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CELL_COLUMNS)
        writer.writeheader()
        writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    return dest


def write_all(root: Path, assignment: str, db_url: str, state: GradingState) -> dict[str, Path]:
    from .report import write_report

    from ..exam.report import report_text
    from ..exam.settings import exam_config

    out = root / "exports" / assignment
    rows = cell_rows(db_url, assignment, state, root)
    outputs = {
        "grades CSV": export_grades_csv(db_url, out / "grades.csv", assignment),
        "cells CSV": export_cells_csv(rows, out / "cells.csv"),
        "feedback": export_feedback(root, assignment, rows),
        "report": write_report(rows, out, assignment, review_flags(db_url, assignment, root)),
    }
    if assignment == exam_config(root).assignment:  # lateness and per-question difficulty across variants
        exam_report = out / "exam_report.txt"
        exam_report.write_text(report_text(root, db_url) + "\n", encoding="utf-8")
        outputs["exam report"] = exam_report
    return outputs
