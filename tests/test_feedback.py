"""Student feedback is nbgrader's own GenerateFeedback with the course's preprocessors.

Fast: the course preprocessors on hand-made notebooks. Slow: a small class graded with
`course grade`, its feedback released with `nbgrader release_feedback`, and regenerated with a
plain `nbgrader generate_feedback --force`: no page shows a hidden test, and a page of the real
w1a1_single_neuron shows its maths as MathML without MathJax, a script or a CDN.
"""
from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import notebook_hash

from course_grader import notebooks
from course_grader.course import Course
from course_grader.grading.feedback import minimal_page
from course_grader.grading.nbgrader_steps import load_app
from course_grader.grading.runner import grade_assignment
from course_grader.grading.sandbox import check_tools
from course_grader.paths import course_root
from course_grader.preprocessors import FeedbackSummary, RedactHiddenTestOutput, RenderMathOffline, SanitizeStudentHTML
from course_grader.preprocessors.redact_hidden_test_output import REDACTED
from course_grader.preprocessors.render_math_offline import MATHML_ATTRIBUTES, MATHML_TAGS
from test_course_grade import ASSIGNMENT, LIMITS, build_course, submit_code

HIDDEN_LINE = "assert f(5) == 6  # a long enough hidden line"
TEST_SOURCE = f"assert f(1) == 2\n{notebooks.HIDDEN_BEGIN}\n{HIDDEN_LINE}\n{notebooks.HIDDEN_END}"
SUMMARY = re.compile(r"<div class=[\"']feedback-summary[\"']>.*?</table>", re.S)


def visible(page: str) -> str:
    """What a reader of the page sees: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def grade_cell(grade_id: str, source: str, score: float, points: float, outputs: list) -> nbformat.NotebookNode:
    """A test cell as GetGrades leaves it (score and points in its nbgrader metadata)."""
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": grade_id, "points": points, "score": score,
        "schema_version": 3}})
    cell.outputs = outputs
    return cell


def error(evalue: str, ename: str = "AssertionError", traceback: list[str] | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback or [f"{ename}: {evalue}"])


@pytest.mark.parametrize("where", ["gradebook", "notebook"])
def test_hidden_tests_leave_sources_and_outputs(where: str, tmp_path: Path, monkeypatch) -> None:
    """The hidden lines come from the gradebook's locked cells (so ClearHiddenTests may run first,
    as configured), or from the notebook when the redaction runs first."""
    answer = nbformat.v4.new_code_cell("def f(x):\n    return 2", metadata={"nbgrader": {
        "grade": False, "solution": True, "grade_id": "sig", "schema_version": 3,
        "comment": f"[test_sig] failed at {HIDDEN_LINE}\nwell done otherwise"}})
    test = grade_cell("test_sig", TEST_SOURCE, 0.0, 2.0, [
        nbformat.v4.new_output("stream", name="stdout", text=f"checking\n{HIDDEN_LINE}\nkept line\n"),
        error("", traceback=["\x1b[31mAssertionError\x1b[39m Traceback", f"----> 3 \x1b[32m{HIDDEN_LINE}\x1b[0m\n",
                             "the end"]),
        nbformat.v4.new_output("display_data", data={"text/html": f"<pre>{html.escape(HIDDEN_LINE)}</pre>\n<p>ok</p>",
                                                     "text/plain": f"{notebooks.HIDDEN_BEGIN}\nplain"}),
    ])
    nb = nbformat.v4.new_notebook(cells=[answer, test])
    resources: dict = {}
    steps = [RedactHiddenTestOutput(), ClearHiddenTests()]
    if where == "gradebook":
        from nbgrader.api import Gradebook

        # a new gradebook runs nbgrader's `alembic`, from the virtual environment
        monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        resources["nbgrader"] = {"db_url": f"sqlite:///{tmp_path / 'gradebook.db'}", "assignment": "week1",
                                 "notebook": "demo", "student": "bob"}
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            gb.add_assignment("week1")
            gb.add_notebook("demo", "week1")
            gb.add_source_cell("test_sig", "demo", "week1", cell_type="code", locked=True, source=TEST_SOURCE)
        steps.reverse()  # the order of nbgrader_config.py
    for pp in steps:
        nb, resources = pp.preprocess(nb, resources)
    shown = nbformat.writes(nb)
    assert "HIDDEN TESTS" not in shown and "f(5)" not in shown
    assert nb.cells[1].source == "assert f(1) == 2"
    out = nb.cells[1].outputs
    assert out[0].text == f"checking\n{REDACTED}\nkept line\n"
    assert out[1].traceback == ["\x1b[31mAssertionError\x1b[39m Traceback", f"{REDACTED}\n", "the end"]
    assert out[2].data["text/html"] == f"{REDACTED}\n<p>ok</p>" and out[2].data["text/plain"] == f"{REDACTED}\nplain"
    assert nb.cells[0].metadata.nbgrader.comment == f"{REDACTED}\nwell done otherwise"


def test_summary_on_top_in_notebook_order_with_escaped_short_messages() -> None:
    long_message = "\x1b[31mexpected <4> & not 5\x1b[0m " + "x" * 1000
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Week 1"),
        grade_cell("test_z", "check_z()", 0.0, 1.0, [error(long_message, ename="ValueError")]),
        grade_cell("test_a", "check_a()", 2.0, 2.0, []),
        grade_cell("test_m", "check_m()", 0.0, 3.0, [error("", ename="KeyboardInterrupt"),
                                                     error("cell 'test_m' ran out of time after 4 s")]),
        grade_cell("test_b", "check_b()", 0.0, 1.0, [error("")]),
        grade_cell("test_c", "check_c()", 0.0, 1.0, []),
        nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
            "solution": True, "grade": False, "grade_id": "ans", "comment": "[test_c] the grader stopped here"}}),
    ])
    resources = {"nbgrader": {"score": 2.0, "max_score": 8.0, "late_penalty": 0.0}}
    nb, resources = FeedbackSummary().preprocess(nb, resources)
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    (summary,) = SUMMARY.findall(body)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", summary)
    assert [r[0] for r in rows] == ["test_z", "test_a", "test_m", "test_b", "test_c"]
    assert [r[1] for r in rows] == ["0 / 1", "2 / 2", "0 / 3", "0 / 1", "0 / 1"]
    z, a, m, b, c = (html.unescape(r[2]) for r in rows)
    assert z.startswith("expected <4> & not 5 xxx") and len(z) <= 300 and "\x1b" not in z
    assert "&lt;4&gt; &amp; not 5" in rows[0][2]
    assert (a, m, b, c) == ("", "cell 'test_m' ran out of time after 4 s", "AssertionError", "the grader stopped here")
    assert "Total score: 2 / 8" in visible(summary)
    assert body.index("feedback-summary") < body.index("Week 1")


def test_minimal_page_escapes_reasons() -> None:
    page = minimal_page("tiny / demo", [{"grade_id": "test_sig", "score": 0.0, "max_score": 2.0,
                                         "comment": "demo.ipynb is missing (submitted instead: <b>x</b>.ipynb)"}])
    assert "<b>x</b>" not in page and "submitted instead: &lt;b&gt;x&lt;/b&gt;.ipynb" in page
    assert "Total score: 0 / 2" in visible(page)


# ---- maths as MathML (RenderMathOffline) -----------------------------------------------------------

def rendered_markdown(source: str, student: bool = False) -> str:
    """The HTML of one markdown cell after RenderMathOffline (after SanitizeStudentHTML for a student's
    cell, as configured), rendered by nbconvert's markdown as the feedback page renders it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
    resources: dict = {}
    for pp in ([SanitizeStudentHTML()] if student else []) + [RenderMathOffline()]:
        nb, resources = pp.preprocess(nb, resources)
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    return body


class Tags(HTMLParser):
    """Every (tag, attributes) an HTML parser finds."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def test_inline_and_display_maths_become_mathml() -> None:
    body = rendered_markdown("Inline $\\frac{1}{1+e^{-z}}$ and \\(y\\), display:\n\n"
                             "$$p_1 = \\text{sigmoid}(x \\cdot w + b)$$\n\nand \\\\[a^2\\\\] too.")
    maths = re.findall(r"<math [^>]*>.*?</math>", body, re.S)
    assert [re.search(r'display="(\w+)"', m)[1] for m in maths] == ["inline", "inline", "block", "block"]
    assert "<mfrac>" in maths[0] and "<mtext>sigmoid</mtext>" in maths[2] and "<msup>" in maths[3]
    assert "$" not in body and "\\frac" not in body and "\\text" not in body
    assert 'xmlns="http://www.w3.org/1998/Math/MathML"' in maths[0]


def test_code_and_dollars_that_are_no_maths_stay_as_typed() -> None:
    source = ("It costs $5, or $10 with delivery; \\$x\\$ is escaped; call `f($x$)`.\n\n"
              "```python\nprice = \"$y$\"\n```\n\n    indented = \"$z$\"\n\nafter $w$")
    body = rendered_markdown(source)
    assert body.count("<math") == 1 and "<mi>w</mi>" in body
    shown = visible(body)
    assert "It costs $5, or $10 with delivery; $x$ is escaped; call f($x$)." in shown
    assert 'price = "$y$"' in shown and 'indented = "$z$"' in shown
    assert "<code>f($x$)</code>" in body


def test_tex_latex2mathml_rejects_is_left_as_text() -> None:
    body = rendered_markdown("broken $\\frac{1}{$ and fine $a < b$")
    assert body.count("<math") == 1 and "<mo>&lt;</mo>" in body
    assert "broken $\\frac{1}{$ and fine" in visible(body)


@pytest.mark.parametrize("student", [True, False])
def test_hostile_tex_gives_no_live_tag_or_attribute(student: bool) -> None:
    """A student's cell (sanitised first) or an unsanitised one: only MathML and its layout attributes."""
    source = ("$<script>alert(1)</script>$ $\\href{javascript:alert(2)}{x}$ $\\style{color:red}{x}$\n"
              "$\\text{<img src=x onerror=alert(3)>}$ $\\text{</mtext><script>alert(4)</script>}$\n"
              "$\\color{red\" onmouseover=\"alert(5)}{y}$ $$\\unknowncmd <svg onload=alert(6)>$$")
    body = rendered_markdown(source, student=student)
    cell = body[body.index("text_cell_render"):]
    tags = Tags(cell).found
    maths = [(tag, attrs) for tag, attrs in tags if tag in MATHML_TAGS]
    assert len([t for t, _ in maths if t == "math"]) == 7
    assert {t for t, _ in tags} - MATHML_TAGS <= {"div", "p"}
    assert all(set(attrs) <= MATHML_ATTRIBUTES | {"xmlns"} for _, attrs in maths)
    assert "javascript:" not in cell and not re.search(r"<(script|img|svg)", cell, re.I)
    assert "alert(3)" in visible(cell)  # the TeX's text is shown, as text


def test_a_cell_full_of_unclosed_delimiters_renders_quickly() -> None:
    """Each delimiter is looked up, never searched for again from every position (no quadratic scan)."""
    source = "".join(("<a b ", "$", "\\(", "``` ", "<!--", "\\begin{x}") * 20_000)
    started = time.monotonic()
    nb, _ = RenderMathOffline().preprocess(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)]), {})
    assert time.monotonic() - started < 10
    assert "<math" not in nb.cells[0].source


# ---- a class graded with `course grade` -------------------------------------------------------------

RAISES = "x must be <positive> & small"
MATHS = "w1a1_single_neuron"


def hidden_source_lines(source: Path) -> set[str]:
    return {line.strip() for cell in notebooks.read(source).cells
            for line in notebooks.between_markers(cell.source, notebooks.HIDDEN_BEGIN, notebooks.HIDDEN_END)
            if line.strip()}


def assert_no_hidden_test(pages: list[Path], hidden: set[str]) -> None:
    assert pages and hidden
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        assert "BEGIN HIDDEN TESTS" not in raw and "END HIDDEN TESTS" not in raw, page
        shown = visible(raw)
        leaked = [line for line in hidden if line in raw or line in shown]
        assert not leaked, f"{page} shows hidden-test source: {leaked}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    check_tools()
    course = build_course(tmp_path_factory.mktemp("feedback") / "course")
    submit_code(course, "raiser", f"def f(x):\n    raise ValueError({RAISES!r})")
    hidden = sorted(hidden_source_lines(course.root / "source" / ASSIGNMENT / "demo.ipynb"))
    # prints a hidden-test line (its source does not quote it): the page must not show the output either
    line = hidden[0]
    submit_code(course, "echo", f"def f(x):\n    return 2\nprint({line[:5]!r} + {line[5:]!r})")
    submit_code(course, "scripter", "def f(x):\n    return x + 1", extra=SCRIPTS)
    folder = course.root / "submitted" / "scripter" / ASSIGNMENT
    nb = nbformat.read(str(folder / "demo.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        "My notes <script>alert('xss-md')</script> **done**\n\n"
        "$\\href{javascript:alert('xss-tex')}{x}$ $\\text{<img src=x onerror=alert('xss-tex-img')>}$ "
        "$<script>alert(7)</script>$"))
    nbformat.write(nb, str(folder / "demo.ipynb"))
    renamed = course.root / "submitted" / "renamer" / ASSIGNMENT
    renamed.mkdir(parents=True)
    shutil.copy2(course.root / "submitted" / "reference" / ASSIGNMENT / "demo.ipynb", renamed / "demo (1).ipynb")
    for folder in (course.root / "submitted").glob(f"*/{ASSIGNMENT}"):  # as `nbgrader collect` leaves them
        (folder / "timestamp.txt").write_text("2025-05-06 09:30:00.000000 UTC")
        (folder / "submission_secret.txt").write_text(secrets.token_hex(64))
    run = grade_assignment(course.root, ASSIGNMENT, workers=2, progress=False, limits=LIMITS)
    # and one blank submission of the real w1a1 (its markdown is full of maths) for its feedback page
    shutil.copytree(course_root() / "source" / MATHS, course.root / "source" / MATHS)
    course.generate_assignment(MATHS)
    released = {p.name: notebooks.read(p) for p in (course.root / "release" / MATHS).glob("*.ipynb")}
    folder = course.submit("blank", MATHS, released, timestamp="2025-05-06 09:30:00.000000 UTC")
    (folder / "submission_secret.txt").write_text(secrets.token_hex(64))
    grade_assignment(course.root, MATHS, workers=1, progress=False, limits=LIMITS, preflight=False)
    return {"course": course, "run": run}


SCRIPTS = """from IPython.display import display, HTML, SVG, Javascript
display(HTML("<b>bold</b><script>alert('xss-html')</script><img src=x onerror=alert('xss-img')>"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("xss-svg")</script></svg>'))
display(Javascript("alert('xss-js')"))
class Table:
    def _repr_html_(self):
        return "<table><tr><td onclick=alert('xss-repr')>1</td></tr></table>"
    def __repr__(self):
        return "Table(1 row)"
display(Table())"""


def pages(root: Path, assignment: str) -> dict[str, Path]:
    return {p.parent.parent.name: p for p in (root / "feedback").glob(f"*/{assignment}/demo.html")}


@pytest.mark.slow
def test_every_graded_student_gets_a_page_without_hidden_tests(graded: dict) -> None:
    course, assignment = graded["course"], ASSIGNMENT
    found = pages(course.root, assignment)
    assert set(found) == set(graded["run"].graded) >= {"reference", "wrong", "raiser", "echo", "renamer"}
    assert_no_hidden_test(list(found.values()), hidden_source_lines(course.root / "source" / assignment / "demo.ipynb"))
    assert REDACTED in visible(found["echo"].read_text())
    # nbgrader's own page (its template) with the course's summary on top
    wrong = found["wrong"].read_text()
    assert "Grade cell: test_sig" in visible(wrong) and "assert f(1) == 2" in visible(wrong)
    # never executed: scores and the reason only
    renamer = visible(found["renamer"].read_text())
    assert "missing from the submission" in renamer and "demo (1).ipynb" in renamer


@pytest.mark.slow
def test_summary_table_shows_why_a_cell_failed(graded: dict) -> None:
    found = pages(graded["course"].root, ASSIGNMENT)
    (raiser,) = SUMMARY.findall(found["raiser"].read_text())
    assert "<td>test_sig</td><td>0 / 2</td><td>x must be &lt;positive&gt; &amp; small</td>" in raiser
    assert "Total score: 0 / 2" in visible(raiser)
    (wrong,) = SUMMARY.findall(found["wrong"].read_text())
    assert "<td>test_sig</td><td>0 / 2</td><td>a check of this cell failed</td>" in wrong  # a bare assert
    (reference,) = SUMMARY.findall(found["reference"].read_text())
    assert "<td>test_sig</td><td>2 / 2</td><td></td>" in reference


@pytest.mark.slow
def test_nbgrader_release_feedback_publishes_every_page(graded: dict, tmp_path: Path) -> None:
    course, assignment = graded["course"], ASSIGNMENT
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    result = course.nbgrader("release_feedback", assignment, f"--Exchange.root={exchange}", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    released = exchange / load_app(course.root, assignment).coursedir.course_id / "feedback"
    found = pages(course.root, assignment)
    for student, page in found.items():
        secret = (page.parent / "submission_secret.txt").read_text()
        target = released / f"{notebook_hash(secret=secret, notebook_id='demo')}.html"
        assert target.read_bytes() == page.read_bytes(), student
    assert len(list(released.glob("*.html"))) == len(found)


@pytest.mark.slow
def test_plain_nbgrader_generate_feedback_writes_the_same_safe_page(graded: dict, tmp_path: Path) -> None:
    assignment = ASSIGNMENT
    copy = Course(tmp_path / "course")
    shutil.copytree(graded["course"].root, copy.root)
    before = {s: p.read_text() for s, p in pages(copy.root, assignment).items()}
    result = copy.nbgrader("generate_feedback", assignment, "--force", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    after = pages(copy.root, assignment)
    assert_no_hidden_test(list(after.values()), hidden_source_lines(copy.root / "source" / assignment / "demo.ipynb"))
    assert REDACTED in visible(after["echo"].read_text())
    # byte for byte what `course grade` wrote (the never-executed submission's page is left alone)
    assert {s: p.read_text() for s, p in after.items()} == before


@pytest.mark.slow
def test_student_html_and_javascript_never_run_in_the_feedback_page(graded: dict) -> None:
    page = pages(graded["course"].root, ASSIGNMENT)["scripter"].read_text()
    for marker in ("xss-html", "xss-img", "xss-svg", "xss-js", "xss-repr", "xss-md", "xss-tex-img"):
        for match in re.finditer(marker, page):  # where the text survives at all, it is inert text
            before = page[max(0, match.start() - 300):match.start()]
            assert "<script" not in before.split("</script>")[-1] or "&lt;script" in before, marker
        assert not re.search(r"<[^>]*on\w+\s*=\s*[^>]*" + marker, page), marker
    assert "Table(1 row)" in visible(page) and "bold" in visible(page)
    # the student's TeX became MathML with no link, handler or tag of its own
    body = page[page.index("<body"):]
    assert "xss-tex'" not in body and "javascript:" not in body and body.count("<math") == 3
    assert scores_of(graded, "scripter") == {"test_sig": 2.0}


def scores_of(graded: dict, student: str) -> dict[str, float]:
    return graded["course"].scores(ASSIGNMENT, student)["demo"]


@pytest.mark.slow
def test_w1a1_page_shows_its_maths_as_mathml_offline(graded: dict) -> None:
    """The real page of w1a1: every formula of its markdown is MathML, and nothing is loaded from
    elsewhere (no MathJax, no script, no CDN): it reads the same on a hub without internet."""
    root = graded["course"].root
    (page,) = (root / "feedback" / "blank" / MATHS).glob("*.html")
    raw = page.read_text(encoding="utf-8")
    source = "\n".join(cell.source for cell in notebooks.read(root / "source" / MATHS / f"{page.stem}.ipynb").cells
                       if cell.cell_type == "markdown")
    formulas = re.findall(r"\$\$.+?\$\$|\$[^$]+\$", source, re.S)
    assert raw.count("<math") == len(formulas) > 20, "every formula of the markdown is MathML"
    assert raw.count('<math display="block"') == source.count("$$") // 2 > 0
    assert "<mtext>sigmoid</mtext>" in raw and "<mfrac>" in raw  # $$p_1 = \text{sigmoid}(...)$$, $\frac{1}{1+e^{-z}}$
    shown = visible(raw)
    assert "$$" not in raw and "\\frac" not in shown and "\\sigma" not in shown
    assert "<script" not in raw.lower() and "mathjax" not in raw.lower()
    without_images = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+", "", raw)  # base64 holds any letters
    assert "cdn" not in without_images.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", raw, re.I)  # nothing fetched or linked out
    assert "Total score: 0 / " in shown and "<title>single_neuron</title>" in raw
