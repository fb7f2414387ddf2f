"""The coordinator's nbgrader steps: everything ``nbgrader autograde`` does except executing.

``nbgrader autograde`` converts each notebook twice: the *sanitize* pass (ClearOutput,
DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata: needs the gradebook)
writes ``autograded/<student>/<assignment>/``; the *autograde* pass (Execute, IgnorePattern,
ClearMetadata, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata) reads it
back and scores it. Here both passes are nbgrader's own converter with nbgrader's own
(configurable) preprocessor lists; only Execute is taken out of the second pass, because the
notebook arrives already executed from a sandboxed worker. So scores, comments and autograded
notebooks are the ones ``nbgrader autograde`` writes, and this process is the only gradebook writer.
"""
from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.converters.autograde import Autograde
from nbgrader.converters.base import BaseConverter, NbGraderException
from nbgrader.preprocessors import Execute
from traitlets.utils.importstring import import_item

from .execution_mode import AUTOGRADE, nbgrader_execution


def load_app(root: Path, assignment: str) -> AutogradeApp:
    """nbgrader's autograde application for ``root`` with the course's nbgrader_config.py loaded."""
    app = AutogradeApp()
    app.initialize([assignment, f"--CourseDirectory.root={root}", "--Autograde.create_student=True",
                    "--log-level=WARN"], root=str(root))
    for handler in app.log.handlers:  # nbgrader's errors reach the instructor; its warnings are collected
        handler.setLevel(logging.ERROR)
    app.coursedir.assignment_id = assignment
    return app


@contextmanager
def one_engine_per_database() -> Iterator[None]:
    """While it lasts, every nbgrader ``Gradebook`` of one database shares one SQLAlchemy engine.

    nbgrader makes a new engine for each Gradebook it opens (several per notebook), so every query is
    compiled again each time; one engine keeps SQLAlchemy's compiled-statement cache. The queries, the
    database and the one writer are unchanged (``Gradebook.close`` only returns the engine's connections).
    """
    from nbgrader import api

    made: dict[str, object] = {}
    original = api.create_engine

    def shared(url, *args, **kwargs):
        key = str(url)
        if key not in made:
            made[key] = original(url, *args, **kwargs)
        return made[key]

    api.create_engine = shared
    try:
        yield
    finally:
        api.create_engine = original
        for engine in made.values():
            engine.dispose()


@contextmanager
def schemas_checked_once() -> Iterator[None]:
    """While it lasts, nbgrader checks each cell's metadata against a validator built once per schema.

    ``jsonschema.validate`` checks the schema itself and builds a validator on every call (every cell
    of every notebook, twice per submission); the verdict and the error raised are the same.
    """
    import jsonschema
    from nbgrader.nbgraderformat import common

    validators: dict[str, object] = {}  # the schema's JSON -> its checked validator

    def validate(instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)  # nbgrader loads the schema again for each of its validators
        if key not in validators:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validators[key].iter_errors(instance))
        if error is not None:
            raise error

    original = common.jsonschema
    common.jsonschema = SimpleNamespace(validate=validate)
    try:
        yield
    finally:
        common.jsonschema = original


class ScoringFailed(RuntimeError):
    """nbgrader could not score an executed notebook (a fault of the grading set-up, not of the student)."""


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def collect_warnings(app: AutogradeApp) -> Iterator[list[str]]:
    handler = _Collect()
    app.log.addHandler(handler)
    try:
        yield handler.messages
    finally:
        app.log.removeHandler(handler)


def _is_execute(pp) -> bool:
    cls = import_item(pp) if isinstance(pp, str) else pp
    return isinstance(cls, type) and issubclass(cls, Execute)


def split_at_execute(preprocessors: list) -> tuple[list, list]:
    """(preprocessors nbgrader runs before Execute, those it runs after) in the autograde pass."""
    index = next((i for i, pp in enumerate(preprocessors) if _is_execute(pp)), None)
    if index is None:
        raise NbGraderException("Autograde.autograde_preprocessors has no Execute step: nothing to run in the sandbox")
    return list(preprocessors[:index]), list(preprocessors[index + 1:])


class SanitizeOnly(Autograde):
    """nbgrader's autograde up to (excluding) execution; a broken notebook fails alone."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failed: dict[str, str] = {}
        self.sanitized: list[str] = []

    def convert_single_notebook(self, notebook_filename: str) -> None:
        name = Path(notebook_filename).stem
        self._sanitizing = True
        self._init_preprocessors()
        try:
            BaseConverter.convert_single_notebook(self, notebook_filename)
            before, _ = split_at_execute(self.autograde_preprocessors)
            if before:  # e.g. a code audit configured ahead of Execute: runs here, before shipping
                built = os.path.join(self.writer.build_directory, os.path.basename(notebook_filename))
                self._sanitizing = False
                self.exporter._preprocessors = []
                for pp in before:
                    self.exporter.register_preprocessor(pp)
                try:
                    with nbgrader_execution(AUTOGRADE):
                        BaseConverter.convert_single_notebook(self, built)
                finally:
                    self._sanitizing = True
        except Exception as exc:  # corrupted JSON, invalid metadata...: this notebook scores 0
            self.failed[name] = f"{Path(notebook_filename).name} could not be read or checked: {type(exc).__name__}: {exc}"
            self.log.warning("sanitizing %s failed: %s", notebook_filename, exc)
        else:
            self.sanitized.append(name)


class ScoreExecuted(Autograde):
    """nbgrader's second autograde pass without Execute, on notebooks executed elsewhere."""

    executed: dict[str, str] = {}

    def init_destination(self, assignment_id: str, student_id: str) -> bool:
        return True  # keep the sanitized folder the first pass wrote

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        self.notebooks = [nb for nb in self.notebooks if Path(nb).stem in self.executed]

    def _init_preprocessors(self) -> None:
        self.exporter._preprocessors = []
        chosen = self.sanitize_preprocessors if self._sanitizing else split_at_execute(self.autograde_preprocessors)[1]
        for pp in chosen:
            self.exporter.register_preprocessor(pp)

    def convert_single_notebook(self, notebook_filename: str) -> None:
        name = Path(notebook_filename).stem
        dest = Path(self._format_dest(self.coursedir.assignment_id, self.coursedir.student_id)) / f"{name}.ipynb"
        # nbgrader left the sanitized copy read-only (its permissions, 444): replace it, never write into it
        # (root ignores file modes, an ordinary instructor does not).
        dest.unlink(missing_ok=True)
        dest.write_text(self.executed[name], encoding="utf-8")
        self._sanitizing = False
        self._init_preprocessors()
        try:
            with nbgrader_execution(AUTOGRADE):
                BaseConverter.convert_single_notebook(self, str(dest))
        finally:
            self._sanitizing = True


def sanitize(app: AutogradeApp, student: str) -> tuple[list[str], dict[str, str], list[str]]:
    """First pass for one student: (sanitized notebook names, failed name -> reason, nbgrader warnings)."""
    app.coursedir.student_id = student
    converter = SanitizeOnly(coursedir=app.coursedir, parent=app)
    converter.force = True
    with collect_warnings(app) as messages:
        try:
            converter.start()
        except NbGraderException as exc:
            converter.failed.setdefault("*", " ".join(messages[-3:]) or str(exc))
    return converter.sanitized, converter.failed, messages


def score(app: AutogradeApp, student: str, executed: dict[str, str]) -> list[str]:
    """Second pass for one student: scores written to the gradebook, autograded notebooks written."""
    app.coursedir.student_id = student
    converter = ScoreExecuted(coursedir=app.coursedir, parent=app)
    converter.executed = executed
    with collect_warnings(app) as messages:
        try:
            converter.start()
        except NbGraderException as exc:
            raise ScoringFailed("; ".join(messages[-3:]) or str(exc)) from None
    return messages


def assignment_notebooks(db_url: str, assignment: str) -> list[str]:
    with Gradebook(db_url) as gb:
        return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)


@contextmanager
def _submitted_notebook(db_url: str, assignment: str, student: str, notebook: str) -> Iterator[object | None]:
    """The gradebook's record of one submitted notebook (None when there is none), committed afterwards."""
    with Gradebook(db_url) as gb:
        try:
            submitted = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            yield None
            return
        yield submitted
        gb.db.commit()


def fail_closed(db_url: str, assignment: str, student: str, notebook: str, reason: str | None,
                comments: dict[str, str] | None = None) -> None:
    """Zero every autograded cell of ``notebook`` that has no score (or all of them, with ``reason``)
    and write the reasons into the solution-cell comments the instructor and student read."""
    comments = dict(comments or {})
    with _submitted_notebook(db_url, assignment, student, notebook) as submitted:
        if submitted is None:
            return
        for grade in submitted.grades:
            if reason is not None or (grade.auto_score is None and grade.manual_score is None
                                      and grade.cell.cell_type == "code"):
                grade.auto_score = 0
                grade.needs_manual_grade = False
                comments.setdefault(grade.name, reason or f"grade cell '{grade.name}' is missing from the notebook")
        if comments:
            text = "\n".join(f"[{k}] {v}" for k, v in sorted(comments.items()))
            for comment in submitted.comments:
                previous = comment.auto_comment if reason is None else None
                comment.auto_comment = "\n".join(filter(None, [previous, text]))


def mark_not_graded(db_url: str, assignment: str, student: str, notebook: str, reason: str) -> None:
    """No score for any autograded cell of ``notebook`` (the grading machinery failed, or grading is
    under way): the cells need grading, the comment says why. A fault of the grader is never a zero."""
    with _submitted_notebook(db_url, assignment, student, notebook) as submitted:
        if submitted is None:
            return
        for grade in submitted.grades:
            if grade.cell.cell_type == "code":
                grade.auto_score = None
                grade.needs_manual_grade = True
        for comment in submitted.comments:
            comment.auto_comment = f"[not graded] {reason}"


def notebook_scores(db_url: str, assignment: str, student: str) -> dict[str, dict[str, tuple[float, float]]]:
    """notebook -> grade_id -> (score, max_score) from the gradebook."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            out[nb.name] = {g.name: (float(g.score), float(g.max_score)) for g in nb.grades}
    return out


@contextmanager
def course_root_env(root: Path) -> Iterator[None]:
    """``$COURSE_ROOT`` set to ``root`` for the ``with`` block (nbgrader_config.py reads it), then restored."""
    previous = os.environ.get("COURSE_ROOT")
    os.environ["COURSE_ROOT"] = str(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("COURSE_ROOT", None)
        else:
            os.environ["COURSE_ROOT"] = previous
