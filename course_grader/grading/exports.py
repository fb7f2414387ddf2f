"""The files an instructor takes away: nbgrader's grades CSV, a per-cell CSV, feedback, a report."""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from .feedback import feedback_html
from .state import GradingState

CELL_COLUMNS = ("student", "assignment", "notebook", "grade_id", "score", "max_score", "comment")


def export_grades_csv(db_url: str, dest: Path) -> Path:
    """Exactly what ``nbgrader export`` writes (nbgrader's own CSV plugin)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(db_url) as gb:
        CsvExportPlugin(to=str(dest)).export(gb)
    return dest


def cell_rows(db_url: str, assignment: str, state: GradingState) -> list[dict]:
    rows = []
    with Gradebook(db_url) as gb:
        for submission in sorted(gb.find_assignment(assignment).submissions, key=lambda s: s.student_id):
            notes = state.students.get(submission.student_id, {}).get("comments", {})
            for nb in sorted(submission.notebooks, key=lambda n: n.name):
                reasons = notes.get(nb.name, {})
                grade_ids = {g.name for g in nb.grades}
                general = "; ".join(f"{k}: {v}" for k, v in sorted(reasons.items()) if k not in grade_ids and k != "*")
                for grade in sorted(nb.grades, key=lambda g: g.name):
                    rows.append({"student": submission.student_id, "assignment": assignment, "notebook": nb.name,
                                 "grade_id": grade.name, "score": float(grade.score), "max_score": float(grade.max_score),
                                 "comment": reasons.get(grade.name) or reasons.get("*") or general})
    return rows


def export_cells_csv(rows: list[dict], dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CELL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return dest


def export_feedback(root: Path, assignment: str, rows: list[dict]) -> Path:
    """``feedback/<student>/<assignment>/<notebook>.html`` for every graded notebook."""
    by_nb: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_nb.setdefault((row["student"], row["notebook"]), []).append(row)
    for (student, notebook), cells in by_nb.items():
        scores = {r["grade_id"]: (r["score"], r["max_score"]) for r in cells}
        comments = {r["grade_id"]: r["comment"] for r in cells if r["comment"]}
        source = root / "autograded" / student / assignment / f"{notebook}.ipynb"
        dest = root / "feedback" / student / assignment / f"{notebook}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            nb = nbformat.read(str(source), as_version=4)
        except Exception:  # never graded from a notebook (missing, corrupted): scores and reasons only
            nb = nbformat.v4.new_notebook()
        dest.write_text(feedback_html(nb, f"{assignment} / {notebook} / {student}", scores, comments), encoding="utf-8")
    return root / "feedback"


def write_all(root: Path, assignment: str, db_url: str, state: GradingState) -> dict[str, Path]:
    from .report import write_report

    from ..exam.report import report_text
    from ..exam.settings import exam_config

    out = root / "exports" / assignment
    rows = cell_rows(db_url, assignment, state)
    outputs = {
        "grades CSV": export_grades_csv(db_url, out / "grades.csv"),
        "cells CSV": export_cells_csv(rows, out / "cells.csv"),
        "feedback": export_feedback(root, assignment, rows),
        "report": write_report(rows, out),
    }
    if assignment == exam_config(root).assignment:  # lateness and per-question difficulty across variants
        exam_report = out / "exam_report.txt"
        exam_report.write_text(report_text(root, db_url) + "\n", encoding="utf-8")
        outputs["exam report"] = exam_report
    return outputs
