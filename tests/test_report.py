"""The class report (`exports/<assignment>/report.html`) from hand-made `cell_rows` rows: no grading."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from course_grader.grading.report import NO_MESSAGE, summarize, write_report

LIMIT = "cell 'test_b' ran out of time after 4 s (wall clock)"


def row(student: str, grade_id: str, score: float, max_score: float = 2.0, comment: str = "", message: str = "",
        notebook: str = "demo") -> dict:
    return {"student": student, "assignment": "week<1>", "notebook": notebook, "grade_id": grade_id,
            "score": score, "max_score": max_score, "comment": comment, "message": message}


#: Grade cells in notebook order: test_zeta comes first, then test_b, then test_a (not alphabetical).
ROWS = [
    row("ann", "test_zeta", 2.0), row("ann", "test_b", 2.0), row("ann", "test_a", 1.0, max_score=1.0),
    row("bob", "test_zeta", 0.0, message="expected 3 but got <b>4</b> & more"),
    row("bob", "test_b", 0.0, comment=LIMIT, message=LIMIT), row("bob", "test_a", 1.0, max_score=1.0),
    row("cy<script>", "test_zeta", 0.0, message="expected 3 but got <b>4</b> & more"),
    row("cy<script>", "test_b", 2.0), row("cy<script>", "test_a", 0.0, max_score=1.0),
    row("dee", "test_zeta", 0.0, comment="demo.ipynb is missing from the submission"),
    row("dee", "test_b", 0.0, comment="demo.ipynb is missing from the submission"),
    row("dee", "test_a", 0.0, max_score=1.0, comment="demo.ipynb is missing from the submission"),
]


def text(page: str) -> str:
    """The page as a reader sees it: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def report(tmp_path: Path) -> str:
    return write_report(ROWS, tmp_path, "week<1>").read_text()


def test_summary_statistics_order_problems_and_failures() -> None:
    s = summarize(ROWS)
    assert s.assignment == "week<1>"
    assert s.questions == ["test_zeta", "test_b", "test_a"]
    assert s.totals == {"ann": 5.0, "bob": 1.0, "cy<script>": 2.0, "dee": 0.0}
    assert s.possible["ann"] == 5.0 and s.top == 5.0
    stats = s.statistics()
    assert stats["mean"] == pytest.approx(2.0) and stats["median"] == pytest.approx(1.5)
    assert stats["standard deviation"] == pytest.approx(((9 + 1 + 0 + 4) / 4) ** 0.5)
    assert (stats["min"], stats["max"]) == (0.0, 5.0)
    assert s.problems == {"bob": [LIMIT], "dee": ["demo.ipynb is missing from the submission"]}
    # the message wins over the comment; the count is of students failing with that message
    assert s.failures["test_zeta"] == ("expected 3 but got <b>4</b> & more", 2, 3)
    assert s.failures["test_b"] == (LIMIT, 1, 2)
    assert s.failures["test_a"][1:] == (1, 2)
    assert s.full_marks == {"test_zeta": 0.25, "test_b": 0.5, "test_a": 0.5}


def test_report_page(report: str, tmp_path: Path) -> None:
    shown = text(report)
    assert "Grade report: week<1>" in shown and "<title>Grade report: week&lt;1&gt;</title>" in report
    # questions in notebook order, in the question table and in the student table's header
    for table in re.findall(r"<table.*?</table>", report)[1:4:2]:
        cells = text(table)
        assert cells.index("test_zeta") < cells.index("test_b") < cells.index("test_a")
    for label, value in [("mean", "2"), ("median", "1.5"), ("standard deviation", "1.87"), ("min", "0"),
                         ("max", "5")]:
        assert label in shown and value in shown
    assert "Submissions with problems: 2" in shown
    assert LIMIT in shown and "demo.ipynb is missing from the submission" in shown
    assert "expected 3 but got <b>4</b> & more" in shown and "2 of 3 failing" in shown
    # one row per student: student, total, max, then the score of every question
    assert re.search(r"<tr><td>ann</td><td>5</td><td>5</td><td>2</td><td>2</td><td>1</td></tr>", report)
    assert re.search(r"<tr><td>dee</td><td>0</td><td>5</td><td>0</td><td>0</td><td>0</td></tr>", report)
    # everything from the rows is escaped: no tag of theirs reaches the page
    assert "<script>" not in report and "<b>4</b>" not in report
    assert "cy&lt;script&gt;" in report
    assert (tmp_path / "report.png").stat().st_size > 1000
    assert "data:image/png;base64," in report


def test_failure_without_message_and_several_notebooks(tmp_path: Path) -> None:
    rows = [row("ann", "q1", 0.0, notebook="part2"), row("ann", "q1", 1.0, max_score=1.0, notebook="part1"),
            row("bob", "q1", 0.0, notebook="part2"), row("bob", "q1", 0.0, max_score=1.0, notebook="part1",
                                                          comment="not graded yet: needs manual grading")]
    s = summarize(rows)
    assert s.questions == ["part2 / q1", "part1 / q1"]
    assert s.failures["part2 / q1"] == (NO_MESSAGE, 2, 2)
    assert s.failures["part1 / q1"] == ("not graded yet: needs manual grading", 1, 1)
    assert list(s.problems) == ["bob"]
    page = write_report(rows, tmp_path).read_text()
    assert "Grade report: week&lt;1&gt;" in page  # the assignment named in the rows


def test_empty_report(tmp_path: Path) -> None:
    page = write_report([], tmp_path, "tiny").read_text()
    assert "Grade report: tiny" in page and "no graded submission" in page
    assert "Submissions with problems: 0" in page
