"""The exam on the instructor's side: settings, nbgrader hooks, late penalty, solver, report.

Registered in ``nbgrader_config.py`` (the exam's one source of truth, ``c.Exam.*``):

* :class:`StampExam` (``generate_assignment``) writes the exam seed into the released variant
  cell and makes the gradebook's due date the end of the exam window;
* :class:`InjectExamVariant` (``autograde``, right before ``Execute``: after ``OverwriteCells``
  restored every locked cell and after the integrity audit) grades the submitting student's true
  variant: the student id is nbgrader's ``resources['nbgrader']['student']`` (the
  ``submitted/<student>/`` folder), never anything the kernel says; the locked variant cell
  becomes ``variant_for(<student>, <seed>)`` and each hidden test's
  ``graded_answers(...)  # __EXAM_INJECT__`` line becomes literals: the variant and the answers
  typed in the answer cell, read from its source here;
* :class:`EnforceExamAnswers` (``autograde``, after ``SaveAutoGrades``) checks the typed answers
  against the instructor's solver outside the kernel and zeroes a variant cell whose answers
  are wrong, whatever the kernel printed (it never raises a score);
* :class:`ExamLatePenalty` (``c.AssignLatePenalties.plugin_class``) penalises a submission
  whose ``timestamp.txt`` is after the due date plus the grace period.

These are nbgrader's own configured preprocessor lists, so ``nbgrader autograde`` and any tool
that runs them (``course grade`` runs the ones before ``Execute`` before shipping a notebook to a
worker, the ones after it once the notebook is back) grade the exam the same way.
"""
from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from .exam import (ANSWER_CELLS, DEMO_SEED, INJECT_MARK, VARIANT_CELL, VARIANT_TESTS, Variant, answers_match,
                   read_answer_cell, variant_for)
from .paths import repo_root


class Exam(Configurable):
    """The exam's settings: ``c.Exam.*`` in ``nbgrader_config.py`` (the one source of truth)."""

    assignment = Unicode("w1exam", help="the nbgrader assignment that is the exam").tag(config=True)
    seed = Int(DEMO_SEED, help="the exam seed: variants derive from sha256('<seed>:<student id>')").tag(config=True)
    start = Unicode("", help="start of the exam window, e.g. '2025-04-15 13:30:00 Europe/Zurich'").tag(config=True)
    end = Unicode("", help="end of the exam window = the nbgrader due date").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after `end` that still count as on time").tag(config=True)
    late_penalty_per_minute = Float(
        1.0, help="fraction of the notebook's score deducted per started minute after the grace period "
                  "(1.0: a late exam scores 0)").tag(config=True)
    solver = Unicode("", help="path of the instructor-only solver module "
                              "(default: <course repository>/instructor/<assignment>_solution.py)").tag(config=True)

    def window(self):
        """(start, end) as naive UTC datetimes (None where not set)."""
        from nbgrader.utils import parse_utc

        return (parse_utc(self.start) if self.start else None, parse_utc(self.end) if self.end else None)


def exam_config(root: Path | None = None) -> Exam:
    """The :class:`Exam` settings from ``<root>/nbgrader_config.py`` (default: this repository)."""
    from traitlets.config.loader import PyFileConfigLoader

    folder = Path(root or repo_root())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    return Exam(config=config)


def load_solver(assignment: str, exam: Exam | None = None, root: Path | None = None) -> ModuleType | None:
    """The instructor-only solver module of ``assignment`` (None when this installation lacks it)."""
    path = Path(exam.solver) if exam is not None and exam.solver else \
        Path(root or repo_root()) / "instructor" / f"{assignment}_solution.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_course_solver_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# nbgrader hooks
# --------------------------------------------------------------------------------------------

_STAMP_RE = re.compile(r"course_utils\.exam\.my_variant\(\s*\)")
_SEED_RE = re.compile(r"my_variant\(\s*exam_seed\s*=\s*(-?\d+)\s*\)")
_CALL_RE = re.compile(r"course_utils\.exam\.my_variant\([^)]*\)")
_INJECT_RE = re.compile(r"^(?P<indent>[ \t]*)_V, _A = course_utils\.exam\.graded_answers\(\s*['\"](?P<cell>\w+)['\"]"
                        r"\s*,\s*globals\(\)\s*\)\s*" + re.escape(INJECT_MARK) + r"[ \t]*$", re.MULTILINE)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_exam(nb) -> bool:
    return any(_grade_id(c) == VARIANT_CELL for c in nb.cells)


def _set_duedate(db_url: str, assignment: str, exam: Exam, log) -> None:
    """Make the gradebook's due date of the exam the end of the configured exam window."""
    if not exam.end:
        return
    from nbgrader.api import Gradebook

    _, end = exam.window()
    with Gradebook(db_url) as gb:
        current = gb.update_or_create_assignment(assignment)
        if current.duedate != end:
            log.info("exam %s: due date set to %s UTC (c.Exam.end)", assignment, end)
            gb.update_or_create_assignment(assignment, duedate=end)


class StampExam(NbGraderPreprocessor):
    """``generate_assignment``: write the exam seed into the released variant cell; set the due date.

    Runs before ``SaveCells``, so the gradebook keeps the stamped cell and ``OverwriteCells``
    restores exactly what the students saw.
    """

    def preprocess(self, nb, resources):
        if not _is_exam(nb):
            return nb, resources
        exam = Exam(parent=self)
        for cell in nb.cells:
            if _grade_id(cell) == VARIANT_CELL:
                cell.source = _STAMP_RE.sub(f"course_utils.exam.my_variant(exam_seed={exam.seed})", cell.source)
        info = resources.get("nbgrader", {})
        if info.get("db_url") and info.get("assignment") == exam.assignment:
            _set_duedate(info["db_url"], info["assignment"], exam, self.log)
        return nb, resources


def released_seed(nb, exam: Exam) -> int:
    """The exam seed in the (restored) locked variant cell, else the configured one."""
    for cell in nb.cells:
        if _grade_id(cell) == VARIANT_CELL:
            found = _SEED_RE.search(cell.source)
            if found:
                return int(found.group(1))
    return exam.seed


def answer_cell_sources(nb) -> dict[str, str]:
    """answer cell grade_id -> source (the first cell of each id, as nbgrader's DeduplicateIds keeps)."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in ANSWER_CELLS and gid not in out and cell.cell_type == "code":
            out[gid] = cell.source
    return out


class InjectExamVariant(NbGraderPreprocessor):
    """``autograde`` (right before Execute; locked cells are restored): grade the true variant.

    * the student id is ``resources['nbgrader']['student']``: the submission folder, not the kernel;
    * the locked variant cell becomes ``v = course_utils.exam.variant_for(<student>, <seed>)``, so
      the student's own code sees their variant while grading;
    * every ``_V, _A = course_utils.exam.graded_answers("<answer cell>", globals())  # __EXAM_INJECT__``
      line of a locked test cell becomes ``_V, _A = {<variant>}, {<typed answers>}``: literals
      computed here, outside the kernel.
    """

    def preprocess(self, nb, resources):
        if not _is_exam(nb):
            return nb, resources
        exam = Exam(parent=self)
        info = resources["nbgrader"]
        student = info["student"]
        seed = released_seed(nb, exam)
        if seed != exam.seed:
            self.log.warning("exam %s was released with seed %s but c.Exam.seed is %s: grading with the released seed",
                             info.get("assignment"), seed, exam.seed)
        variant = variant_for(student, seed).to_dict()
        sources = answer_cell_sources(nb)
        if info.get("db_url") and info.get("assignment") == exam.assignment:
            _set_duedate(info["db_url"], info["assignment"], exam, self.log)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("locked"):
                continue
            if meta.get("grade_id") == VARIANT_CELL:
                cell.source = _CALL_RE.sub(f"course_utils.exam.variant_for({student!r}, {seed})", cell.source)
            elif meta.get("grade"):
                def literal(match: re.Match) -> str:
                    answers = read_answer_cell(sources.get(match["cell"]), match["cell"])
                    return f"{match['indent']}_V, _A = {variant!r}, {answers!r}  # graded variant of {student!r}"
                cell.source = _INJECT_RE.sub(literal, cell.source)
        return nb, resources


def verdicts(nb, student: str, seed: int, solver: ModuleType) -> dict[str, str | None]:
    """Variant test cell -> None when the typed answers of ``nb`` are right for ``student``, else why not.

    Reads the answer cells' sources (never the kernel) and compares with ``solver.solve``.
    """
    expected = solver.solve(variant_for(student, seed))
    sources = answer_cell_sources(nb)
    out: dict[str, str | None] = {}
    for test_cell, answer_cell in VARIANT_TESTS.items():
        answers = read_answer_cell(sources.get(answer_cell), answer_cell)
        if "__error__" in answers:
            out[test_cell] = answers["__error__"]
            continue
        wrong = [name for name in ANSWER_CELLS[answer_cell]
                 if name not in answers or not answers_match(name, expected[name], answers[name])]
        out[test_cell] = (f"{', '.join(wrong)} in {answer_cell!r} not correct for your variant" if wrong else None)
    return out


class EnforceExamAnswers(NbGraderPreprocessor):
    """``autograde`` (after SaveAutoGrades): a variant cell keeps its points only if the typed answers
    match the instructor's solution, checked here, outside the student's kernel.

    It can only lower a score: a kernel that fakes a passing test (patched checks, swallowed
    exceptions) gains nothing on the variant questions; the cell then gets an error output that
    says so (the student's feedback). Needs the solver module (:func:`load_solver`); without it
    the in-kernel hidden tests alone grade, with a warning.
    """

    def preprocess(self, nb, resources):
        if not _is_exam(nb):
            return nb, resources
        from nbformat.v4 import new_output
        from nbgrader.api import Gradebook, MissingEntry

        exam = Exam(parent=self)
        info = resources["nbgrader"]
        solver = load_solver(info["assignment"], exam)
        if solver is None:
            self.log.warning("exam %s: no instructor solver found, typed answers are graded in the kernel only",
                             info["assignment"])
            return nb, resources
        found = verdicts(nb, info["student"], released_seed(nb, exam), solver)
        cells = {_grade_id(c): c for c in nb.cells if c.cell_type == "code"}
        with Gradebook(info["db_url"]) as gb:
            for test_cell, problem in found.items():
                if problem is None:
                    continue
                try:
                    grade = gb.find_grade(test_cell, info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                if grade.auto_score:
                    self.log.warning("exam %s/%s: %s passed in the kernel but the grader's check says: %s",
                                     info["student"], info["assignment"], test_cell, problem)
                    grade.auto_score = 0.0
                    if test_cell in cells:
                        cells[test_cell].outputs.append(new_output(
                            "error", ename="ExamCheck", evalue=f"checked by the grader: {problem}",
                            traceback=[f"ExamCheck: checked by the grader: {problem}"]))
            gb.db.commit()
        return nb, resources


class ExamLatePenalty(LateSubmissionPlugin):
    """Late penalty of the exam: after ``c.Exam.end`` plus ``c.Exam.grace_minutes``, deduct
    ``c.Exam.late_penalty_per_minute`` of the score per started minute. Other assignments keep
    nbgrader's ``LateSubmissionPlugin`` behaviour (``penalty_method``)."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        exam = Exam(parent=self)
        if getattr(self.parent, "assignment_id", None) != exam.assignment:
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        return exam_penalty(score, total_seconds_late, exam)


def exam_penalty(score: float, seconds_late: float, exam: Exam) -> float:
    """The points deducted from ``score`` for handing the exam in ``seconds_late`` after the due date."""
    beyond = seconds_late - 60.0 * exam.grace_minutes
    if beyond <= 0:
        return 0.0
    return float(min(score, score * exam.late_penalty_per_minute * math.ceil(beyond / 60.0)))


# --------------------------------------------------------------------------------------------
# After grading: who was late, and how hard was each question across the variants
# --------------------------------------------------------------------------------------------

def variant_features(v: Variant) -> dict[str, str]:
    """For each variant-dependent test cell, the property of the variant that may make it harder."""
    import numpy as np

    z = v.X @ v.w + v.b
    return {
        "test_neuron": "z signs " + "".join("+" if x > 0 else "-" for x in z),
        "test_boundary": "w2 < 0" if v.w[1] < 0 else "w2 > 0",
        "test_hidden": f"{v.n_hidden} hidden units",
        "test_architecture": "hidden 1 >= 20 units" if v.layers[1] >= 20 else "hidden 1 < 20 units",
        "test_bce": f"{int(np.sum(v.y_bce))} of 5 labels are 1",
        "test_sgd": f"label y = {v.y_sgd}",
    }


def lateness(db_url: str, exam: Exam) -> list[dict[str, Any]]:
    """One row per submission of the exam: timestamp, seconds late, penalty, early/late flags."""
    from nbgrader.api import Gradebook

    start, _ = exam.window()
    rows = []
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(exam.assignment).submissions:
            late = float(sub.total_seconds_late or 0.0)
            rows.append({
                "student": sub.student_id,
                "timestamp": sub.timestamp,
                "seconds_late": late,
                "late": late > 60.0 * exam.grace_minutes,
                "before_start": bool(start and sub.timestamp and sub.timestamp < start),
                "raw_score": float(sub.score),
                "penalty": float(sub.late_submission_penalty or 0.0),
                "score": float(sub.score) - float(sub.late_submission_penalty or 0.0),
                "max_score": float(sub.max_score),
            })
    return sorted(rows, key=lambda r: r["student"])


def cell_scores(db_url: str, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    """student -> grade cell -> (score, max score)."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(assignment).submissions:
            cells = out.setdefault(sub.student_id, {})
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[grade.name] = (float(grade.score), float(grade.max_score))
    return out


def difficulty(scores: dict[str, dict[str, tuple[float, float]]], seed: int) -> list[dict[str, Any]]:
    """Per question: the share of students with full marks, overall and per kind of variant.

    ``scores`` is student -> grade cell -> (score, max score) (:func:`cell_scores`). Rows have
    ``question``, ``group`` ("all" or a variant property), ``students`` and ``full_marks`` (share).
    """
    groups: dict[tuple[str, str], list[bool]] = {}
    for student, cells in scores.items():
        features = variant_features(variant_for(student, seed))
        for cell, (got, best) in cells.items():
            full = best > 0 and got >= best - 1e-9
            groups.setdefault((cell, "all"), []).append(full)
            if cell in features:
                groups.setdefault((cell, features[cell]), []).append(full)
    return [{"question": q, "group": g, "students": len(v), "full_marks": sum(v) / len(v)}
            for (q, g), v in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0][1]))]


# --------------------------------------------------------------------------------------------
# `course exam preview STUDENT` and `course exam report`
# --------------------------------------------------------------------------------------------

def preview_text(student: str, root: Path | None = None, seed: int | None = None) -> str:
    """A student's variant and its solution (what they should type), for the instructor."""
    exam = exam_config(root)
    seed = exam.seed if seed is None else seed
    variant = variant_for(student, seed)
    lines = [str(variant), ""]
    solver = load_solver(exam.assignment, exam, root)
    if solver is None:
        lines.append(f"(no solution: instructor/{exam.assignment}_solution.py is not in this installation)")
    else:
        lines.append("Solution (typed as the answer cells expect):")
        for cell, source in solver.answer_sources(variant).items():
            lines.append(f"  [{cell}]")
            lines += [f"    {line}" for line in source.splitlines()]
    start, end = exam.start or "?", exam.end or "?"
    lines += ["", f"Exam {exam.assignment}: window {start} .. {end}, grace {exam.grace_minutes:g} min, "
                  f"late penalty {exam.late_penalty_per_minute:.0%} of the score per started minute"]
    return "\n".join(lines)


def report_text(root: Path | None = None, db_url: str | None = None) -> str:
    """Who handed in late (and the penalty), and how hard each question was across the variants."""
    import os

    folder = Path(root or repo_root())
    exam = exam_config(folder)
    db_url = db_url or os.environ.get("COURSE_DB_URL", f"sqlite:///{folder / 'gradebook.db'}")
    rows = lateness(db_url, exam)
    lines = [f"Exam {exam.assignment}: {len(rows)} submissions, due {exam.end or '(no c.Exam.end)'}, "
             f"grace {exam.grace_minutes:g} min", "",
             f"{'student':24s} {'submitted (UTC)':20s} {'late':>9s} {'penalty':>8s} {'score':>11s}"]
    for r in rows:
        late = f"{r['seconds_late'] / 60:.1f} min" if r["seconds_late"] else "-"
        flag = " (before the exam started!)" if r["before_start"] else ""
        when = r["timestamp"].strftime("%Y-%m-%d %H:%M:%S") if r["timestamp"] else "(no timestamp)"
        lines.append(f"{r['student']:24s} {when:20s} {late:>9s} {r['penalty']:8g} "
                     f"{r['score']:5g}/{r['max_score']:<5g}{flag}")
    lines += ["", f"{'question':20s} {'variants':26s} {'students':>8s} {'full marks':>10s}"]
    for r in difficulty(cell_scores(db_url, exam.assignment), exam.seed):
        lines.append(f"{r['question']:20s} {r['group']:26s} {r['students']:8d} {r['full_marks']:10.0%}")
    return "\n".join(lines)
