"""Student feedback: nbgrader's own ``generate_feedback``, with the course's configuration.

``nbgrader_config.py`` sets ``c.GenerateFeedback.preprocessors`` (GetGrades, nbgrader's
ClearHiddenTests, :class:`~course_grader.preprocessors.RedactHiddenTestOutput`,
:class:`~course_grader.preprocessors.SanitizeStudentHTML`,
:class:`~course_grader.preprocessors.RenderMathOffline`,
:class:`~course_grader.preprocessors.FeedbackSummary`) and the page's template
(``course_grader/templates/course_feedback``: no script, maths as MathML), so ``course grade`` and a
plain ``nbgrader generate_feedback`` write the same page, without hidden tests, into
``feedback/<student>/<assignment>/`` together with the ``timestamp.txt`` and
``submission_secret.txt`` that ``nbgrader release_feedback`` needs.

nbgrader has nothing to convert for a submission that was never executed (a missing or
unreadable notebook) and skips a notebook it fails on: such a student gets a page with the
scores and the reasons only, next to the same two files taken from the submission.
"""
from __future__ import annotations

import html
import shutil
from collections import defaultdict
from pathlib import Path

from ..preprocessors.feedback_summary import shorten, summary_html
from .nbgrader_steps import course_root_env

#: What ``nbgrader release_feedback`` reads next to each page (nbgrader copies them from autograded/).
RELEASE_FILES = ("timestamp.txt", "submission_secret.txt")


def run_generate_feedback(root: Path, assignment: str) -> bool:
    """nbgrader's GenerateFeedback, ``--force``, for every autograded submission of ``assignment``
    (the course's nbgrader_config.py loaded as ``nbgrader generate_feedback`` loads it).
    False when nbgrader failed on some submission (it carries on with the others)."""
    from nbgrader.apps.generatefeedbackapp import GenerateFeedbackApp
    from nbgrader.converters import GenerateFeedback, NbGraderException

    with course_root_env(root):
        app = GenerateFeedbackApp()
        app.initialize([assignment, f"--CourseDirectory.root={root}", "--force", "--log-level=ERROR"],
                       root=str(root))
        app.coursedir.assignment_id = assignment
        converter = GenerateFeedback(coursedir=app.coursedir, parent=app)
        converter.force = True
        try:
            converter.start()
        except NbGraderException:
            return False
    return True


def minimal_page(title: str, cells: list[dict]) -> str:
    """A page with the scores and the reasons only, for a notebook nbgrader could not render."""
    rows = [(r["grade_id"], r["score"], r["max_score"], shorten(r.get("comment") or "")) for r in cells]
    note = "The notebook could not be shown: here are its scores and the reasons."
    total, possible = sum(r[1] for r in rows), sum(r[2] for r in rows)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif;margin:1em'><h1>{html.escape(title)}</h1>"
            f"{summary_html(rows, total, possible, note=note)}</body></html>\n")


def export_feedback(root: Path, assignment: str, rows: list[dict]) -> Path:
    """``feedback/<student>/<assignment>/<notebook>.html`` for every graded notebook (``rows``: ``cell_rows``)."""
    by_notebook: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_notebook[(row["student"], row["notebook"])].append(row)
    feedback = root / "feedback"
    for student in {s for s, _ in by_notebook}:  # what --force does: no page of an earlier run survives
        shutil.rmtree(feedback / student / assignment, ignore_errors=True)
    if any((root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        run_generate_feedback(root, assignment)
    for (student, notebook), cells in sorted(by_notebook.items()):
        page = feedback / student / assignment / f"{notebook}.html"
        if page.exists():
            continue
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(minimal_page(f"{assignment} / {notebook}", cells), encoding="utf-8")
        for name in RELEASE_FILES:
            for folder in ("autograded", "submitted"):
                found = root / folder / student / assignment / name
                if found.is_file() and not (page.parent / name).exists():
                    shutil.copy2(found, page.parent / name)
    return feedback
