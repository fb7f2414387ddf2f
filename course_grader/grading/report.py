"""The class report of one assignment: score statistics, every student's scores, the submissions
with problems and, per question, how many got full marks and the most common failure message.

Input: the rows of :func:`course_grader.grading.exports.cell_rows` (one per student and grade cell,
grade cells in notebook order; ``comment``: why the grader stopped, cut or refused the work, or
that it still needs a manual grade; ``message``: the error message of a cell that lost points).
"""
from __future__ import annotations

import base64
import html
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

NO_MESSAGE = "(no error message)"


def _question(row: dict, multiple_notebooks: bool) -> str:
    return f'{row["notebook"]} / {row["grade_id"]}' if multiple_notebooks else row["grade_id"]


def _plain(text: str) -> str:
    return " ".join(str(text or "").split())


@dataclass
class Summary:
    """What the report shows, computed from the rows."""

    assignment: str
    questions: list[str] = field(default_factory=list)  # notebook order
    max_points: dict[str, float] = field(default_factory=dict)  # question -> points
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> question -> score
    totals: dict[str, float] = field(default_factory=dict)  # student -> total
    possible: dict[str, float] = field(default_factory=dict)  # student -> max total
    problems: dict[str, list[str]] = field(default_factory=dict)  # student -> distinct reasons
    full_marks: dict[str, float] = field(default_factory=dict)  # question -> share of students
    failures: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # question -> (message, count, failed)
    flags: dict[str, list[str]] = field(default_factory=dict)  # student -> code flagged for review (no effect)

    @property
    def top(self) -> float:
        return max(self.possible.values(), default=0.0)

    def statistics(self) -> dict[str, float]:
        values = list(self.totals.values())
        if not values:
            return {}
        return {"mean": statistics.fmean(values), "median": statistics.median(values),
                "standard deviation": statistics.pstdev(values), "min": min(values), "max": max(values)}


def summarize(rows: list[dict], assignment: str | None = None) -> Summary:
    multiple = len({r["notebook"] for r in rows}) > 1
    summary = Summary(assignment or next((r["assignment"] for r in rows if r.get("assignment")), ""))
    correct: dict[str, list[bool]] = {}
    messages: dict[str, Counter] = {}
    for r in rows:
        q, student = _question(r, multiple), r["student"]
        score, points = float(r["score"]), float(r["max_score"])
        if q not in summary.max_points:
            summary.questions.append(q)
        summary.max_points[q] = max(points, summary.max_points.get(q, 0.0))
        summary.scores.setdefault(student, {})[q] = score
        summary.totals[student] = summary.totals.get(student, 0.0) + score
        summary.possible[student] = summary.possible.get(student, 0.0) + points
        comment = _plain(r.get("comment", ""))
        if comment and comment not in summary.problems.setdefault(student, []):
            summary.problems[student].append(comment)
        correct.setdefault(q, []).append(points > 0 and score >= points)
        if score < points:
            messages.setdefault(q, Counter())[_plain(r.get("message", "")) or comment or NO_MESSAGE] += 1
    summary.problems = {s: p for s, p in summary.problems.items() if p}
    summary.full_marks = {q: sum(v) / len(v) for q, v in correct.items()}
    for q, counts in messages.items():
        message, count = counts.most_common(1)[0]
        summary.failures[q] = (message, count, sum(counts.values()))
    return summary


def _n(x: float) -> str:
    return f"{round(float(x), 2):g}"


def _figure(summary: Summary, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = summary.top
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, max(4, 0.3 * len(summary.questions))))
    ax1.hist(list(summary.totals.values()) or [0], bins=min(20, max(1, int(top) + 1)), range=(0, max(top, 1)),
             color="#4477aa")
    ax1.set(title=f"{summary.assignment}: total score ({len(summary.totals)} students)",
            xlabel=f"points (of {top:g})", ylabel="students")
    ax2.barh(summary.questions or [""], [summary.full_marks[q] * 100 for q in summary.questions] or [0],
             color="#228833")
    ax2.invert_yaxis()  # the first question on top
    ax2.set(title="Students with full marks per question", xlabel="%", xlim=(0, 100))
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>"


def render(summary: Summary, image: str = "") -> str:
    """The report page (``image``: a base64 PNG); every text from the rows is HTML-escaped."""
    title = f"Grade report: {summary.assignment}" if summary.assignment else "Grade report"
    stats = summary.statistics()
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>students: {len(summary.totals)}, questions: {len(summary.questions)}, "
             f"points: {_n(summary.top)}</p>"]
    if image:
        parts.append(f"<img alt='score distribution' src='data:image/png;base64,{image}'>")
    parts += ["<h2>Total score</h2>", _table(list(stats), [[_n(v) for v in stats.values()]]) if stats
              else "<p>no graded submission</p>"]
    parts += ["<h2>Questions</h2>", _table(
        ["question", "points", "full marks", "most common failure", "students"],
        [[q, _n(summary.max_points[q]), f"{summary.full_marks[q]:.0%}",
          *((summary.failures[q][0], f"{summary.failures[q][1]} of {summary.failures[q][2]} failing")
            if q in summary.failures else ("", ""))] for q in summary.questions])]
    parts += [f"<h2>Submissions with problems: {len(summary.problems)}</h2>",
              _table(["student", "problems"], [[s, "; ".join(p)] for s, p in sorted(summary.problems.items())])
              if summary.problems else "<p>none</p>"]
    parts += [f"<h2>Flagged for review: {len(summary.flags)}</h2>",
              "<p>Code the static audit noticed (interpreter, kernel or file access). Grades are decided "
              "outside the student's kernel, so this never changed a score; read the notebook if in doubt.</p>",
              _table(["student", "flags"], [[s, "; ".join(f)] for s, f in sorted(summary.flags.items())])
              if summary.flags else "<p>none</p>"]
    parts += ["<h2>Students</h2>", _table(
        ["student", "total", "max", *summary.questions],
        [[s, _n(summary.totals[s]), _n(summary.possible[s]),
          *(_n(summary.scores[s][q]) if q in summary.scores[s] else "" for q in summary.questions)]
         for s in sorted(summary.totals)])]
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif'>{''.join(parts)}</body></html>\n")


def write_report(rows: list[dict], folder: Path, assignment: str | None = None,
                 flags: dict[str, list[str]] | None = None) -> Path:
    """``report.png`` and ``report.html`` (the figure embedded) in ``folder``; ``flags``: student -> review flags."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows, assignment)
    summary.flags = dict(flags or {})
    png = folder / "report.png"
    _figure(summary, png)
    (folder / "report.html").write_text(render(summary, base64.b64encode(png.read_bytes()).decode()),
                                        encoding="utf-8")
    return folder / "report.html"
