"""The Week-1 exam: variant generator, typed answers, grader hooks, late penalty, preview and report.

Copy-proofness under real nbgrader (a classmate's answers or notebook, an edited variant cell,
``os.environ``, patched checks) is proven by the corpus, ``tests/corpus/w1exam/``.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_grader import notebooks
from course_utils import exam
from course_utils.exam import DEMO_SEED, DEMO_STUDENT, variant_for
from course_utils.typed_answers import (ANSWER_CELLS, TypedAnswerError, parse_typed_answers, read_answer_cell,
                                        typed_source)
from course_grader.exam.answers import INJECT_MARK, VARIANT_TESTS, answers_match, verdicts
from course_grader.exam.late_penalty import ExamLatePenalty, exam_penalty
from course_grader.exam.preview import preview_text
from course_grader.exam.report import difficulty, lateness
from course_grader.exam.settings import Exam, exam_config, load_solver
from course_grader.course import Course
from course_grader.paths import course_root

ROOT = course_root()
SOURCE = ROOT / "source" / "w1exam" / "week1_exam.ipynb"
SEED = exam_config().seed
STUDENTS = [f"student{i:03d}" for i in range(150)] + ["alice", "bob", "Alice", "a", "jupyter-user.name@uni"]


@pytest.fixture(scope="module")
def solver():
    module = load_solver("w1exam")
    assert module is not None, "instructor/w1exam_solution.py is missing"
    return module


@pytest.fixture(scope="module")
def solutions(solver) -> dict[str, dict]:
    return {s: solver.solve(variant_for(s, SEED)) for s in STUDENTS}


# ---------------------------------------------------------------- the variant generator

def test_same_id_same_variant() -> None:
    a, b = variant_for("alice", SEED), variant_for("alice", SEED)
    assert a.to_dict() == b.to_dict()
    assert variant_for(" alice ", SEED).to_dict() == a.to_dict(), "surrounding blanks are not part of the id"
    assert variant_for("alice", SEED + 1).to_dict() != a.to_dict(), "the exam seed changes every variant"


def test_variant_is_independent_of_global_random_state() -> None:
    np.random.seed(0)
    a = variant_for("bob", SEED).to_dict()
    np.random.seed(12345)
    np.random.rand(100)
    assert variant_for("bob", SEED).to_dict() == a


def test_variant_arrays_are_read_only_and_round_trip() -> None:
    v = variant_for("carol", SEED)
    with pytest.raises(ValueError):
        v.w[0] = 1.0
    assert exam.variant_from_dict(v.to_dict()).to_dict() == v.to_dict()
    assert "carol" in str(v) and "v.W1" in str(v)


def test_different_ids_give_different_answers(solutions: dict) -> None:
    """For every pair of students, a classmate's answers fail every continuous question; architectures rarely
    coincide (the space has 11 * 37 * 19 = 7733 of them)."""
    same_architecture = 0
    for s, t in itertools.combinations(STUDENTS, 2):
        for test_cell, answer_cell in VARIANT_TESTS.items():
            names = ANSWER_CELLS[answer_cell]
            copied = all(answers_match(n, solutions[s][n], solutions[t][n]) for n in names)
            if test_cell == "test_architecture":
                same_architecture += copied
            else:
                assert not copied, f"{s} and {t} have the same answers for {test_cell}"
    pairs = len(STUDENTS) * (len(STUDENTS) - 1) // 2
    assert same_architecture <= 0.002 * pairs, f"{same_architecture} of {pairs} pairs share an architecture"


def test_every_variant_is_solvable(solutions: dict) -> None:
    """No degenerate weights, no saturated probabilities, every typical mistake changes the answer."""
    for student in STUDENTS:
        v, a = variant_for(student, SEED), solutions[student]
        assert np.all(np.abs(v.w) >= 0.2) and abs(v.w[1]) >= 0.3 and abs(v.b) >= 0.2
        assert np.all(np.abs(v.W1) >= 0.2) and np.all(np.abs(v.W2) >= 0.3) and abs(v.b2[0]) >= 0.1
        for p in (a["p_fake"], a["h"], [a["p_net"]], v.p_bce):
            assert np.all((np.asarray(p) > 0.04) & (np.asarray(p) < 0.96)), f"{student}: saturated probability {p}"
        assert np.all(np.abs(np.asarray(a["z"])) >= 0.25), f"{student}: p too close to 0.5"
        assert np.all(np.isfinite(a["x2_boundary"])) and np.all(np.abs(a["x2_boundary"]) < 30)
        assert 1 <= v.y_bce.sum() <= 4 and 0.1 <= v.lr <= 0.5 and a["bce"] > 0
        assert a["n_params"] == sum(m * n + n for m, n in a["shapes"]) and v.n_hidden in (3, 4, 5)
        # the typical mistakes are detectable: each moves an answer beyond the tolerance
        z = np.asarray(a["z"])
        assert not answers_match("z", z, v.X @ v.w), f"{student}: forgetting the bias goes unnoticed"
        assert not answers_match("z", z, v.X @ v.w[::-1] + v.b), f"{student}: swapped weights go unnoticed"
        assert not answers_match("p_fake", a["p_fake"], 1 - np.asarray(a["p_fake"]))
        g = 1 / (1 + np.exp(-z[0])) - v.y_sgd
        assert not answers_match("w_new", a["w_new"], v.w + v.lr * g * v.X[0]), f"{student}: uphill step unnoticed"
        assert not answers_match("losses", a["losses"], np.asarray(a["losses"]) / np.log(10)), f"{student}: log10"


def test_my_variant_reads_jupyterhub_user(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    assert exam.my_variant(exam_seed=SEED).to_dict() == variant_for("alice", SEED).to_dict()
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert exam.my_variant(exam_seed=SEED).student_id == DEMO_STUDENT
    assert "JUPYTERHUB_USER is not set" in capsys.readouterr().out
    assert exam.my_variant().to_dict() == variant_for(DEMO_STUDENT, DEMO_SEED).to_dict(), "unreleased: demo variant"


# ---------------------------------------------------------------- typed answers

@pytest.mark.parametrize("source, expected", [
    ("z = [1.5, -2]\np_fake = [1 / (1 + np.exp(-z[0])), 0.25]",
     {"z": [1.5, -2], "p_fake": [1 / (1 + np.exp(-1.5)), 0.25]}),
    ("shapes = [(3, 4), (4, 1)]\nn_params = 3 * 4 + 4 + 4 * 1 + 1", {"shapes": [(3, 4), (4, 1)], "n_params": 21}),
    ("# comment\nbce = -np.mean(np.array([np.log(0.5), np.log(0.25)]))", {"bce": float(-np.mean(np.log([0.5, 0.25])))}),
    ("a, b = 1, 2.5\nw_new = [a, b]", {"a": 1, "b": 2.5, "w_new": [1, 2.5]}),
    ("x = np.array([1.0, 2.0], dtype=float).T\nh = x.tolist()", {"x": [1.0, 2.0], "h": [1.0, 2.0]}),
])
def test_typed_answers_accept_numbers_and_arithmetic(source: str, expected: dict) -> None:
    got = parse_typed_answers(source)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert answers_match(name, value, got[name]) and np.shape(value) == np.shape(got[name])


@pytest.mark.parametrize("source, reason", [
    ("z = v.X @ v.w + v.b", "uses `v`"),
    ("z = forward(x)", "uses the name 'forward'"),
    ("z = my_z", "uses the name 'my_z'"),
    ("import os\nz = 1", "may only hold assignments"),
    ("# YOUR CODE HERE\nraise NotImplementedError()", "raise NotImplementedError"),
    ("z = ...", "not a number"),
    ("z = __import__('os')", "uses the name '__import__'"),
    ("z = (1).__class__", "not allowed"),
    ("z = np.random.rand(2)", "not allowed"),
    ("z = [0] * 10**9", "repeats it"),
    ("z = 10 ** 10 ** 10", "cannot compute"),
    ("z = 'abc'", "not a number"),
    ("z = [1, 2", "not valid Python"),
    ("def f():\n    return 1\nz = f()", "may only hold assignments"),
])
def test_typed_answers_reject_everything_else(source: str, reason: str) -> None:
    with pytest.raises(TypedAnswerError, match=re.escape(reason)):
        parse_typed_answers(source)


def test_read_answer_cell_reports_problems_instead_of_raising() -> None:
    assert read_answer_cell("bce = 1e308 * 10", "answer_bce") == {
        "__error__": "bce in 'answer_bce' is not a number or a list of numbers"}
    assert "__error__" in read_answer_cell(None, "answer_bce")
    assert "__error__" in read_answer_cell("bce = v.p_bce", "answer_bce")
    assert read_answer_cell("bce = 0.5\nother = 3", "answer_bce") == {"bce": 0.5}


def test_typed_source_round_trips(solutions: dict) -> None:
    answers = solutions["alice"]
    for cell, names in ANSWER_CELLS.items():
        typed = parse_typed_answers(typed_source({n: answers[n] for n in names}), names)
        assert all(answers_match(n, answers[n], typed[n]) for n in names), cell


def test_answers_match_tolerance() -> None:
    assert answers_match("z", [1.0, 2.0], [1.0004, 1.9996])   # 4 decimals are enough
    assert not answers_match("z", [1.0, 2.0], [1.01, 2.0])
    assert not answers_match("z", [1.0, 2.0], [1.0])          # wrong shape
    assert answers_match("p_net", 0.5, [0.5])                 # a one-element list is a number
    assert not answers_match("n_params", 33, 33.5) and answers_match("n_params", 33, 33.0)
    assert not answers_match("z", [1.0], ["a"]) and not answers_match("z", [1.0], [float("nan")])


def test_check_typed_reads_the_kernel_history() -> None:
    ns = {"z": [1.0, 2.0], "p_fake": [0.5, 0.5], "In": ["", "z = [1.0, 2.0]\np_fake = [0.5, 0.5]", "test cell"]}
    exam.check_typed("answer_neuron", ns)
    ns["In"] = ["", "z = v.X @ v.w\np_fake = [0.5, 0.5]", "test cell"]
    with pytest.raises(AssertionError, match="uses `v`"):
        exam.check_typed("answer_neuron", ns)
    with pytest.raises(AssertionError, match="p_fake not defined"):
        exam.check_typed("answer_neuron", {"z": 1})


def test_hidden_tests_fail_closed_without_the_grader(monkeypatch: pytest.MonkeyPatch) -> None:
    ns = {"bce": 0.5}
    variant, answers = exam.graded_answers("answer_bce", ns)
    assert variant["student_id"] == DEMO_STUDENT and answers == {"bce": 0.5}
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError, match="not prepared by the grader"):
        exam.graded_answers("answer_bce", ns)
    with pytest.raises(AssertionError, match="is not answered"):
        exam.typed({}, "bce")


# ---------------------------------------------------------------- the notebook and the solver agree

def test_source_notebook_answers_are_the_demo_solution(solver) -> None:
    nb = notebooks.read(SOURCE)
    expected = solver.solve(variant_for(DEMO_STUDENT, DEMO_SEED))
    sources = {k: notebooks.strip_markers(v) for k, v in notebooks.solution_sources(nb).items()}
    for cell, names in ANSWER_CELLS.items():
        typed = parse_typed_answers(sources[cell], names)
        assert all(answers_match(n, expected[n], typed[n]) for n in names), f"{cell} does not solve the demo variant"
    grade_ids = {notebooks.meta(c).get("grade_id") for c in nb.cells}
    assert set(VARIANT_TESTS) <= grade_ids and set(ANSWER_CELLS) <= grade_ids and exam.VARIANT_CELL in grade_ids
    marked = [c for c in nb.cells if INJECT_MARK in c.source]
    assert {notebooks.meta(c)["grade_id"] for c in marked} == set(VARIANT_TESTS), "one injected line per variant test"
    assert all(notebooks.meta(c).get("locked") for c in marked)


def test_verdicts_read_the_typed_answers_not_the_kernel(solver) -> None:
    nb = nbformat.v4.new_notebook()
    for cell, source in solver.answer_sources(variant_for("alice", SEED)).items():
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"grade_id": cell, "solution": True}
        nb.cells.append(c)
    assert verdicts(nb, "alice", SEED, solver) == {t: None for t in VARIANT_TESTS}
    bob = verdicts(nb, "bob", SEED, solver)
    assert all(bob[t] and "not correct for your variant" in bob[t] for t in VARIANT_TESTS if t != "test_architecture")
    nb.cells[0].source = "z = v.X @ v.w + v.b\np_fake = [0.5, 0.5]"
    assert "uses `v`" in verdicts(nb, "alice", SEED, solver)["test_neuron"]


# ---------------------------------------------------------------- late penalty, preview, report

def test_exam_penalty() -> None:
    e = Exam(grace_minutes=2.0, late_penalty_per_minute=0.1)
    assert exam_penalty(20.0, 0.0, e) == 0.0
    assert exam_penalty(20.0, 119.0, e) == 0.0              # within the grace period
    assert exam_penalty(20.0, 121.0, e) == pytest.approx(2.0)   # first started minute after it
    assert exam_penalty(20.0, 5 * 60.0, e) == pytest.approx(6.0)
    assert exam_penalty(20.0, 3600.0, e) == 20.0             # never more than the score


def test_late_plugin_applies_only_to_the_exam() -> None:
    from traitlets.config import Configurable

    config = exam_config().config

    def plugin(assignment: str) -> ExamLatePenalty:
        parent = Configurable(config=config)
        parent.assignment_id = assignment  # what nbgrader's AssignLatePenalties holds
        return ExamLatePenalty(parent=parent)

    assert plugin("w1a1_single_neuron").late_submission_penalty("s", 10.0, 3600.0) is None  # nbgrader's default
    assert plugin("w1exam").late_submission_penalty("s", 10.0, 3600.0) == 10.0
    assert plugin("w1exam").late_submission_penalty("s", 10.0, 60.0) == 0.0


def test_preview_prints_the_variant_and_its_solution(solver) -> None:
    text = preview_text("alice")
    assert str(variant_for("alice", SEED)) in text
    assert typed_source({"bce": solver.solve(variant_for("alice", SEED))["bce"]}) in text
    from course_grader.cli import main

    assert main(["exam", "preview", "bob", "--seed", "7"]) == 0


def test_difficulty_groups_scores_by_variant() -> None:
    scores = {"alice": {"test_hidden": (2.0, 2.0), "test_forward": (0.0, 3.0)},
              "bob": {"test_hidden": (0.0, 2.0), "test_forward": (3.0, 3.0)}}
    rows = {(r["question"], r["group"]): r for r in difficulty(scores, SEED)}
    assert rows[("test_hidden", "all")]["full_marks"] == 0.5 and rows[("test_forward", "all")]["students"] == 2
    groups = {g for q, g in rows if q == "test_hidden" and g != "all"}
    assert groups == {f"{variant_for(s, SEED).n_hidden} hidden units" for s in ("alice", "bob")}


@pytest.mark.slow
def test_release_stamps_seed_and_late_submissions_are_penalised(tmp_path: Path, solver) -> None:
    """Real nbgrader: the release carries the exam seed, the gradebook the due date; timestamps decide lateness."""
    from course_tooling.corpus import CorpusEntry, build_submission

    course = Course.scratch(tmp_path / "course", ["w1exam"])
    release = course.generate_assignment("w1exam")
    released = notebooks.read(release / SOURCE.name)
    variant_cell = next(c for c in released.cells if notebooks.meta(c).get("grade_id") == exam.VARIANT_CELL)
    assert f"my_variant(exam_seed={SEED})" in variant_cell.source
    settings = exam_config(course.root)
    start, end = settings.window()
    source = notebooks.read(course.root / "source" / "w1exam" / SOURCE.name)
    # on time; late but within the grace period; 5 minutes late: 3 started minutes after the grace period
    stamps = {"ontime": "2025-05-06 10:29:00 Europe/Zurich", "grace": "2025-05-06 10:31:30 Europe/Zurich",
              "late": "2025-05-06 10:35:00 Europe/Zurich"}
    for student, stamp in stamps.items():
        entry = CorpusEntry("w1exam", student, "", "correct", "solution", {})
        course.submit(student, "w1exam", {SOURCE.name: build_submission(entry, source, released)}, timestamp=stamp)
    course.autograde("w1exam")
    rows = {r["student"]: r for r in lateness(course.db_url, settings)}
    assert {s: rows[s]["seconds_late"] for s in stamps} == {"ontime": 0.0, "grace": 90.0, "late": 300.0}
    assert [s for s in stamps if rows[s]["late"]] == ["late"]
    assert all(rows[s]["max_score"] == rows[s]["raw_score"] == 22 for s in stamps)
    assert {s: rows[s]["penalty"] for s in stamps} == {"ontime": 0.0, "grace": 0.0, "late": pytest.approx(0.3 * 22)}
    assert rows["late"]["score"] == pytest.approx(0.7 * 22) and rows["ontime"]["score"] == 22
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        assert gb.find_assignment("w1exam").duedate == end and start < end


@pytest.mark.slow
def test_course_grade_checks_the_exam_whatever_environment_its_workers_inherit(tmp_path: Path, monkeypatch) -> None:
    """The pre-flight runs the reference solution, whose hidden tests refuse to grade under ``autograde``.
    Workers start while nbgrader's steps have ``NBGRADER_EXECUTION=autograde`` set in the coordinator (it
    happened: the whole exam was refused); the grader sets it per test cell, so nothing is inherited."""
    from course_grader.grading.runner import grade_assignment
    from course_tooling.corpus import CorpusEntry, build_submission

    course = Course.scratch(tmp_path / "course", ["w1exam"])
    release = course.generate_assignment("w1exam")
    released = notebooks.read(release / SOURCE.name)
    source = notebooks.read(course.root / "source" / "w1exam" / SOURCE.name)
    for student in ("alice", "bob"):
        entry = CorpusEntry("w1exam", student, "", "correct", "solution", {})
        course.submit(student, "w1exam", {SOURCE.name: build_submission(entry, source, released)})
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    run = grade_assignment(course.root, "w1exam", workers=2, progress=False, export=False)
    assert not run.stopped and not run.failed and not run.not_graded, (run.stopped, run.failed, run.not_graded)
    assert {s: sum(course.scores("w1exam", s)[SOURCE.stem].values()) for s in ("alice", "bob")} == {"alice": 22,
                                                                                                  "bob": 22}
