"""`course grade`: nbgrader's scores, in parallel sandboxes, resumable -- on the tiny one-notebook course.

One module-scoped class of students (good ones from tests/fixtures/tiny_corpus, plus attackers
and broken submissions) is graded once with a 2-worker embedded Dask cluster; the same good
submissions are graded by plain `nbgrader autograde` in a copy of the course for comparison.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_grader import notebooks
from course_tooling import corpus
from course_grader.grading.limits import Limits
from course_grader.grading.runner import grade_assignment
from course_grader.grading.sandbox import check_tools
from course_grader.course import Course
from course_grader.paths import course_root
from conftest import cpu_to_ourselves

FIXTURES = Path(__file__).parent / "fixtures"
ASSIGNMENT = "tiny"
GOOD = ["reference", "blank", "wrong", "warns"]
#: Short limits so the attack submissions finish in seconds.
LIMITS = Limits(cell_wall_s=4, cell_cpu_s=4, notebook_wall_s=40, notebook_cpu_s=30, output_bytes=200_000,
                disk_bytes=8 * 1024 * 1024, file_bytes=4 * 1024 * 1024, processes=64,
                sandbox_memory_bytes=1536 * 1024 * 1024)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_missing := (shutil.which("bwrap") is None), reason="bubblewrap not installed")]


NO_AUDIT = """
if isinstance(c.Autograde.get("autograde_preprocessors"), list):
    c.Autograde.autograde_preprocessors = [
        p for p in c.Autograde.autograde_preprocessors if getattr(p, "__name__", str(p)) != "AuditStudentCode"]
"""


def build_course(root: Path) -> Course:
    """The tiny course released, with the corpus entries of tests/fixtures/tiny_corpus submitted."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course_root() / "nbgrader_config.py", root / "nbgrader_config.py")
    with (root / "nbgrader_config.py").open("a") as fh:  # the sandbox must hold on its own: no static audit
        fh.write(NO_AUDIT)
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy2(FIXTURES / "tiny_course_demo.ipynb", root / "source" / ASSIGNMENT / "demo.ipynb")
    course = Course(root)
    course.generate_assignment(ASSIGNMENT)
    source = notebooks.read(root / "source" / ASSIGNMENT / "demo.ipynb")
    released = notebooks.read(root / "release" / ASSIGNMENT / "demo.ipynb")
    for path in sorted((FIXTURES / "tiny_corpus").glob("*.yaml")):
        entry = corpus.load_entry(path)
        course.submit(entry.student, ASSIGNMENT, {"demo.ipynb": corpus.build_submission(entry, source, released)})
    return course


def submit_code(course: Course, student: str, answer: str, extra: str | None = None) -> None:
    """A submission whose answer cell is ``answer`` (``extra``: a cell added right after it)."""
    nb = copy.deepcopy(notebooks.read(course.root / "release" / ASSIGNMENT / "demo.ipynb"))
    for i, cell in enumerate(list(nb.cells)):
        if notebooks.meta(cell).get("grade_id") == "sig":
            cell.source = answer
            if extra:
                nb.cells.insert(i + 1, nbformat.v4.new_code_cell(extra))
    course.submit(student, ASSIGNMENT, {"demo.ipynb": nb})


SOLVED = "def f(x):\n    return x + 1"


def add_attackers(course: Course) -> None:
    root = course.root
    secrets = [str(root / "gradebook.db"), str(root / "source" / ASSIGNMENT / "demo.ipynb"),
               str(root / "nbgrader_config.py"), str(root / "submitted" / "reference" / ASSIGNMENT / "demo.ipynb"),
               str(Path.home() / ".bashrc"), str(Path.home() / ".cache")]
    probe = (
        "import os, socket\nleaks = []\n"
        f"for p in {secrets!r}:\n"
        "    try:\n        open(p).read(1) if os.path.isfile(p) else os.listdir(p)\n        leaks.append(p)\n"
        "    except OSError:\n        pass\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); leaks.append('network')\nexcept OSError:\n    pass\n"
        "assert leaks == [], leaks\n"
    )
    submit_code(course, "snoop", SOLVED + "\n" + probe)
    # escalation from inside, through names the static audit does not know (`from os import popen`)
    escape = (
        "import ctypes\nfrom os import popen\nlibc = ctypes.CDLL(None, use_errno=True)\nescaped = [n for n, c in ("
        "('ptrace', lambda: libc.ptrace(0, 0, 0, 0)), ('unshare', lambda: libc.unshare(0x10000000)), "
        "('mount', lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))) if c() == 0]\n"
        "escaped += [c for c in ('unshare -Urm id', 'cat /etc/shadow', 'ls /root') if popen(c + ' 2>/dev/null').read()]\n"
        "assert escaped == [], escaped\n")
    submit_code(course, "escaper", SOLVED + "\n" + escape)
    submit_code(course, "sleeper", "import time\ndef f(x):\n    time.sleep(60)")
    submit_code(course, "quitter", SOLVED, extra="import os\nos._exit(3)")
    submit_code(course, "chatty", SOLVED, extra="for i in range(2000):\n    print('x' * 100_000)")
    submit_code(course, "forker", SOLVED, extra="import os\nfor i in range(10_000):\n    try:\n        os.fork()\n    except OSError:\n        break")
    submit_code(course, "filler", SOLVED, extra="with open('big', 'wb') as fh:\n    fh.write(b'0' * 50_000_000)")
    submit_code(course, "hog", SOLVED, extra="import numpy as np\nhuge = np.ones(6 * 1024**3 // 8)")
    submit_code(course, "spinner", "def f(x):\n    while True:\n        pass")
    submit_code(course, "extra", SOLVED)
    # the rest of the hostile class: each keeps its correct answer, so each must score full marks
    submit_code(course, "children", SOLVED, extra=(  # three children of 700 MiB under one 1.5 GiB cap (the
        # cap itself is proven in test_sandbox_cgroups.py; here: the class run is not disturbed)
        "import os, time\nkids = []\nfor i in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
        "        block = bytearray(700 * 2**20)\n        time.sleep(1)\n        os._exit(0)\n    kids.append(pid)\n"
        "print('signals', [os.waitpid(k, 0)[1] & 0x7f for k in kids])"))
    submit_code(course, "displays", SOLVED, extra=(  # 300 outputs of one display, each rewritten to 100 kB
        "from IPython.display import display, HTML\nh = display(HTML('s'), display_id=True)\n"
        "for i in range(300):\n    h.display(HTML('s'))\nh.update(HTML('x' * 100_000))"))
    submit_code(course, "shouter", SOLVED, extra="raise ValueError('y' * 20_000_000)")
    submit_code(course, "socketfill", SOLVED, extra=(  # a chain deeper than PATH_MAX and files in the socket folder
        "import os, ipykernel\nhere = os.path.dirname(ipykernel.connect.get_connection_file())\nos.chdir(here)\n"
        "for i in range(2500):\n    os.mkdir('d')\n    os.chdir('d')\nos.chdir(here)\n"
        "for i in range(8):\n    open(f'f{i}', 'wb').write(os.urandom(3 * 2**20))"))
    submit_code(course, "scripter", SOLVED, extra=(
        "from IPython.display import display, HTML, Javascript\n"
        "display(HTML('<script>alert(1)</script>'), Javascript('alert(2)'))"))
    # an error dressed as the grader's, carrying a spreadsheet formula and terminal escapes
    submit_code(course, "forger", SOLVED, extra=(
        "class GradingLimitExceeded(Exception):\n    pass\n"
        "print('[grader] output cut: =HYPERLINK(\"http://evil\",\"x\")')\n"
        "raise GradingLimitExceeded('=HYPERLINK(\"http://evil\",\"click\") \\x1b[2J')"))
    shutil.copy2(root / "submitted" / "extra" / ASSIGNMENT / "demo.ipynb", root / "submitted" / "extra" / ASSIGNMENT / "notes.ipynb")
    folder = root / "submitted" / "corrupt" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "demo.ipynb").write_text('{"cells": [ this is not json')
    renamed = root / "submitted" / "renamer" / ASSIGNMENT
    renamed.mkdir(parents=True)
    shutil.copy2(root / "submitted" / "reference" / ASSIGNMENT / "demo.ipynb", renamed / "demo (1).ipynb")


SECRET = "TOP-SECRET-4242"
READ_LINKS = ("import os\nfor name in ('secret.txt', 'shadow', 'gradebook.db', 'config.py'):\n"
              "    if os.path.exists(name):\n        print(name, open(name, errors='replace').read()[:200])")


def add_link_attackers(course: Course, secret: Path, fifo: bool = True) -> None:
    """Submissions that are views of the host: links to host files, a notebook that links to the solution."""
    submit_code(course, "linker", SOLVED, extra=READ_LINKS)
    folder = course.root / "submitted" / "linker" / ASSIGNMENT
    for name, target in (("secret.txt", secret), ("shadow", Path("/etc/shadow")),
                         ("gradebook.db", Path("../../../gradebook.db")), ("config.py", Path("../../../nbgrader_config.py"))):
        (folder / name).symlink_to(target)
    if fifo:
        os.mkfifo(folder / "pipe")
    folder = course.root / "submitted" / "nblink" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "demo.ipynb").symlink_to(Path("../../../source") / ASSIGNMENT / "demo.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    check_tools()
    course = build_course(tmp_path_factory.mktemp("course") / "course")
    plain = tmp_path_factory.mktemp("plain") / "course"
    shutil.copytree(course.root, plain)
    plain_course = Course(plain)
    add_attackers(course)
    secret = tmp_path_factory.mktemp("host") / "secret.txt"
    secret.write_text(SECRET)
    add_link_attackers(course, secret)
    add_link_attackers(plain_course, secret, fifo=False)  # nbgrader's own copy would fail on a FIFO
    # a second assignment in the gradebook: the exports of `course grade tiny` must hold `tiny` only
    shutil.copytree(course.root / "source" / ASSIGNMENT, course.root / "source" / "other")
    course.generate_assignment("other")
    with cpu_to_ourselves():  # its cells have 4 s of wall clock: not beside the hub's browser test
        run = grade_assignment(course.root, ASSIGNMENT, workers=2, progress=False, limits=LIMITS)
    plain_course.autograde(ASSIGNMENT)
    return {"course": course, "run": run, "plain": plain_course}


def scores(course: Course, student: str) -> dict[str, float]:
    return course.scores(ASSIGNMENT, student)["demo"]


def _normalized(path: Path) -> list:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)  # nbclient's timestamps differ run to run
        for out in cell.get("outputs", []):  # so does the kernel's temporary file name in warnings
            if out.get("text"):
                out.text = re.sub(r"/tmp/ipykernel_\d+/\d+\.py", "<cell>", out.text)
    return [nb.metadata] + [(c.cell_type, c.source, c.get("metadata"), c.get("outputs"), c.get("execution_count"))
                            for c in nb.cells]


def test_same_scores_and_autograded_notebooks_as_plain_nbgrader(graded: dict) -> None:
    course, plain = graded["course"], graded["plain"]
    for student in GOOD:
        assert scores(course, student) == scores(plain, student), student
        ours = course.root / "autograded" / student / ASSIGNMENT / "demo.ipynb"
        theirs = plain.root / "autograded" / student / ASSIGNMENT / "demo.ipynb"
        assert _normalized(ours) == _normalized(theirs), student
    assert scores(course, "reference") == {"test_sig": 2.0}
    assert scores(course, "warns") == {"test_sig": 2.0}
    assert scores(course, "wrong") == {"test_sig": 0.0}


def test_student_code_cannot_read_course_files_other_students_or_network(graded: dict) -> None:
    for student in ("snoop", "escaper"):  # escaper: no namespaces, mounts, ptrace or root files either
        ag = nbformat.read(str(graded["course"].root / "autograded" / student / ASSIGNMENT / "demo.ipynb"), as_version=4)
        errors = [o for c in ag.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert errors == [], [o.get("evalue") for o in errors]  # the probe's `assert ... == []` passed
        assert scores(graded["course"], student) == {"test_sig": 2.0}


def comment(course: Course, student: str) -> str:
    rows = list(csv.DictReader((course.root / "exports" / ASSIGNMENT / "cells.csv").open()))
    return " ".join(r["comment"] for r in rows if r["student"] == student)


def test_limits_give_zero_with_a_clear_comment_and_the_batch_goes_on(graded: dict) -> None:
    course = graded["course"]
    assert scores(course, "sleeper") == {"test_sig": 0.0}
    assert "ran out of time after 4 s" in comment(course, "sleeper")
    assert scores(course, "quitter") == {"test_sig": 0.0}
    assert "kernel died" in comment(course, "quitter")
    assert scores(course, "corrupt") == {"test_sig": 0.0}
    assert "could not be read" in comment(course, "corrupt")
    assert scores(course, "renamer") == {"test_sig": 0.0}
    assert "missing from the submission" in comment(course, "renamer") and "demo (1).ipynb" in comment(course, "renamer")
    assert set(graded["run"].graded) >= set(GOOD) | {"sleeper", "quitter", "chatty", "forker", "filler", "corrupt", "hog", "spinner"}


def test_big_output_is_capped_fork_bomb_and_disk_filler_contained(graded: dict) -> None:
    course = graded["course"]
    path = course.root / "autograded" / "chatty" / ASSIGNMENT / "demo.ipynb"
    assert path.stat().st_size < 2_000_000
    assert "output cut" in comment(course, "chatty")
    # the test cell after the flood still ran and scored: the cap interrupts, it does not zero the notebook
    assert scores(course, "chatty") == {"test_sig": 2.0}
    # fork bomb: the process cap stops it (OSError), the notebook carries on
    assert scores(course, "forker") == {"test_sig": 2.0}
    filler = nbformat.read(str(course.root / "autograded" / "filler" / ASSIGNMENT / "demo.ipynb"), as_version=4)
    assert any("File too large" in (o.get("evalue") or "") for c in filler.cells for o in c.get("outputs", []))


def test_memory_cpu_limits_and_extra_notebooks(graded: dict) -> None:
    course = graded["course"]
    hog = nbformat.read(str(course.root / "autograded" / "hog" / ASSIGNMENT / "demo.ipynb"), as_version=4)
    assert any(o.get("ename") == "MemoryError" for c in hog.cells for o in c.get("outputs", []))
    assert scores(course, "hog") == {"test_sig": 2.0}  # the 6 GiB allocation failed, the rest went on
    assert scores(course, "spinner") == {"test_sig": 0.0}
    assert comment(course, "spinner")  # the busy loop was stopped and the reason recorded
    assert scores(course, "extra") == {"test_sig": 2.0}  # an extra notebook is ignored, not graded


def test_exports_feedback_without_hidden_tests_and_report(graded: dict) -> None:
    root = graded["course"].root
    grades = list(csv.DictReader((root / "exports" / ASSIGNMENT / "grades.csv").open()))
    assert {"assignment", "student_id", "score", "max_score"} <= set(grades[0])
    with Gradebook(graded["course"].db_url) as gb:
        assert {a.name for a in gb.assignments} == {ASSIGNMENT, "other"}
    assert {r["assignment"] for r in grades} == {ASSIGNMENT}
    assert {r["student_id"] for r in grades} >= set(graded["run"].graded)
    feedback = (root / "feedback" / "wrong" / ASSIGNMENT / "demo.html").read_text()
    text = re.sub(r"<[^>]+>", "", feedback)
    assert "assert f(1)" in text and "f(5)" not in text and "HIDDEN" not in text
    assert (root / "exports" / ASSIGNMENT / "report.png").stat().st_size > 1000
    report = (root / "exports" / ASSIGNMENT / "report.html").read_text()
    assert f"Grade report: {ASSIGNMENT}" in report and "full marks" in report and "Submissions with problems" in report


def test_rerun_grades_only_missing_or_changed(graded: dict) -> None:
    course = graded["course"]
    state_file = course.root / "grading-state" / f"{ASSIGNMENT}.json"
    state = json.loads(state_file.read_text())
    assert set(state["students"]) >= set(GOOD)
    again = grade_assignment(course.root, ASSIGNMENT, progress=False, limits=LIMITS, export=False)
    assert again.graded == [] and set(again.skipped) == set(state["students"])
    # an interrupted run: 'blank' never got recorded; 'wrong' resubmitted a correct answer
    del state["students"]["blank"]
    state_file.write_text(json.dumps(state))
    submit_code(course, "wrong", SOLVED)
    resumed = grade_assignment(course.root, ASSIGNMENT, students="[bw]*", workers=1, progress=False,
                               limits=LIMITS, export=False)
    assert sorted(resumed.graded) == ["blank", "wrong"]
    assert scores(course, "wrong") == {"test_sig": 2.0}
    assert scores(course, "blank") == {"test_sig": 0.0}


def test_a_cell_that_hits_two_limits_names_both() -> None:
    """Output cut, then out of time while the grader drains it (seen under load): the comment says both."""
    from course_grader.grading.remote_execution import CUT_NOTICE
    from course_grader.grading.runner import problems_by_cell

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('x' * 10**9)", metadata={"nbgrader": {"grade_id": "flood"}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="\n[grader] output cut: the limit\n"),
                    nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="flood ran out of time after 4 s",
                                           traceback=[])]
    quiet = nbformat.v4.new_code_cell("1", metadata={"nbgrader": {"grade_id": "fine"}})
    nb.cells = [cell, quiet]
    assert problems_by_cell(nbformat.writes(nb), cut_cells=[0]) == {
        "flood": f"{CUT_NOTICE}; flood ran out of time after 4 s"}
    # the same marks written by the notebook itself (its error renamed on arrival, its text only text)
    forged = copy.deepcopy(nb)
    forged.cells[0].outputs[1].ename = "CellTimeoutError (raised by the notebook)"
    assert problems_by_cell(nbformat.writes(forged)) == {}


def _holds_secret(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and SECRET.encode() in p.read_bytes()]


def test_links_in_a_submission_are_refused_never_followed(graded: dict) -> None:
    """Links to host files are not copied, hashed or shown; the rest of the submission is graded."""
    for course in (graded["course"], graded["plain"]):
        assert scores(course, "linker") == {"test_sig": 2.0}
        assert scores(course, "nblink") == {"test_sig": 0.0}, "a link to the solution is no submission"
        for folder in ("autograded", "feedback", "exports"):
            if (course.root / folder).exists():
                assert _holds_secret(course.root / folder) == [], folder
        linked = (course.root / "autograded" / "linker" / ASSIGNMENT / "demo.ipynb").read_text()
        assert "root:" not in linked and "secret.txt" not in linked.split("print(name")[-1]
    course = graded["course"]
    assert "symbolic link" in comment(course, "nblink")
    problems = " ".join(graded["run"].failed.get("linker", []))
    assert "`secret.txt` refused: a symbolic link" in problems and "`pipe` refused: a FIFO" in problems


def test_a_notebook_cannot_write_the_graders_reasons(graded: dict) -> None:
    course, run = graded["course"], graded["run"]
    assert scores(course, "forger") == {"test_sig": 2.0}
    assert "HYPERLINK" not in " ".join(run.failed.get("forger", [])), "no grader reason came from the notebook"
    assert "\x1b" not in run.summary()
    rows = [r for r in csv.DictReader((course.root / "exports" / ASSIGNMENT / "cells.csv").open())]
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)


HOSTILE_KEEPING_THEIR_ANSWER = ["snoop", "escaper", "chatty", "forker", "filler", "hog", "extra",
                                "linker", "forger", "children", "displays", "shouter", "socketfill", "scripter"]
HOSTILE_WITHOUT_AN_ANSWER = ["sleeper", "spinner", "corrupt", "renamer", "nblink", "quitter"]  # quitter: its own crash


def test_a_hostile_class_grades_to_completion_beside_honest_students(graded: dict) -> None:
    """Twenty hostile submissions in one run: the run finishes with its exports, nothing is left not
    graded, each keeps exactly what its honest part earns, and honest scores match plain nbgrader."""
    course, run = graded["course"], graded["run"]
    assert len(HOSTILE_KEEPING_THEIR_ANSWER + HOSTILE_WITHOUT_AN_ANSWER) >= 20
    assert not run.not_graded and not run.stopped, run.summary()
    assert run.outputs["grades CSV"].exists() and run.outputs["report"].exists()
    for student in HOSTILE_KEEPING_THEIR_ANSWER:
        assert scores(course, student) == {"test_sig": 2.0}, (student, comment(course, student))
    for student in HOSTILE_WITHOUT_AN_ANSWER:
        assert scores(course, student) == {"test_sig": 0.0}, student
    autograded = course.root / "autograded"
    assert max(p.stat().st_size for p in autograded.rglob("*.ipynb")) < 2_000_000
    assert "cut by the grader" in (autograded / "shouter" / ASSIGNMENT / "demo.ipynb").read_text()
