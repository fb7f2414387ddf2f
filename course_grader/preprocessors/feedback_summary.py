"""``generate_feedback``, after GetGrades and the redaction: a score summary at the top of the page.

The student first reads the total, then one row per grade cell in notebook order with its
score and, for a cell that lost points, why: the message of the cell's error (an assert's
message, a limit the grader hit) or the grader's comment on it.
"""
from __future__ import annotations

import html
import re

from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from .. import notebooks
from .redact_hidden_test_output import ANSI

MAX_MESSAGE = 300
_COMMENT_LINE = re.compile(r"^\[(?P<grade_id>[^\]]+)\] (?P<reason>.*)$")


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` without ANSI escapes, whitespace collapsed, at most ``limit`` characters."""
    text = " ".join(ANSI.sub("", text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def failure_message(cell: NotebookNode, limit: int = MAX_MESSAGE) -> str:
    """The message of the cell's error: the first non-empty ``evalue`` of its error outputs (an
    interrupted cell has a bare KeyboardInterrupt, then the grader's reason), else the exception name."""
    errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    text = next((e.get("evalue") for e in errors if (e.get("evalue") or "").strip()), None)
    return shorten(text or next((e.get("ename") for e in errors if e.get("ename")), ""), limit)


def comment_reasons(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> reason, from the ``[grade_id] reason`` lines the grader writes into the comments."""
    reasons: dict[str, str] = {}
    for cell in nb.cells:
        comment = notebooks.meta(cell).get("comment") or ""
        for line in comment.splitlines():
            m = _COMMENT_LINE.match(line.strip())
            if m:
                reasons.setdefault(m["grade_id"], m["reason"])
    return reasons


def _number(x: float) -> str:
    return f"{round(float(x), 2):g}"


def summary_html(rows: list[tuple[str, float | None, float, str]], score: float, max_score: float,
                 late_penalty: float = 0.0, note: str = "") -> str:
    """The summary block, on one line: total, optional ``note`` and late penalty, then one
    (cell, score / max, message) row per grade cell.

    Every text is HTML-escaped here; ``score`` is already net of ``late_penalty``.
    """
    body = "".join(
        f"<tr><td>{html.escape(grade_id)}</td>"
        f"<td>{'not graded yet' if s is None else _number(s)} / {_number(m)}</td>"
        f"<td>{html.escape(' '.join(message.split()))}</td></tr>"
        for grade_id, s, m, message in rows)
    late = (f"<p class='late-penalty'>Late submission penalty: -{_number(late_penalty)}</p>"
            if late_penalty else "")
    note = f"<p>{html.escape(' '.join(note.split()))}</p>" if note else ""
    return (f"<div class='feedback-summary'><h2>Summary</h2>"
            f"<p>Total score: <b>{_number(score)} / {_number(max_score)}</b></p>{late}{note}"
            f"<table class='table table-condensed table-bordered'>"
            f"<tr><th>test</th><th>score</th><th>why points were lost</th></tr>{body}</table></div>")


class FeedbackSummary(NbGraderPreprocessor):
    """Insert a cell at the top: the total score and one row per grade cell (needs GetGrades before).

    A markdown cell holding one line of HTML: markdown passes an HTML block through as it is (a raw
    cell's HTML goes through nbconvert's ``clean_html``, which drops headings and table headers).
    """

    max_message = Integer(MAX_MESSAGE, help="Longest failure message shown, in characters").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        reasons = comment_reasons(nb)
        rows = []
        for cell in nb.cells:
            grader = notebooks.meta(cell)
            if not (grader.get("grade") or grader.get("task")) or not grader.get("grade_id"):
                continue
            score, points = grader.get("score"), float(grader.get("points") or 0)
            message = ""
            if score is None or float(score) < points:
                message = failure_message(cell, self.max_message) or shorten(
                    reasons.get(grader["grade_id"], ""), self.max_message)
            rows.append((grader["grade_id"], None if score is None else float(score), points, message))
        info = resources.get("nbgrader", {})
        total = info.get("score", sum(r[1] or 0 for r in rows))
        possible = info.get("max_score", sum(r[2] for r in rows))
        block = summary_html(rows, total, possible, float(info.get("late_penalty") or 0))
        cell = new_markdown_cell(block, metadata={"feedback_summary": True})
        if nb.get("nbformat_minor", 5) < 5:  # cell ids exist from nbformat 4.5 on
            cell.pop("id", None)
        nb.cells.insert(0, cell)
        return nb, resources
