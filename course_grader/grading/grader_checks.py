"""Grade cells are decided in the grader's process, never in the student's kernel.

For every test cell (an nbgrader grade cell with code), the executor:

1. runs the cell's *released* code (hidden tests removed) in the kernel, exactly as the student
   ran it: its messages and side effects are the student's own, and no expected value of a
   hidden test ever exists in the student's process;
2. runs the *whole* cell (visible and hidden tests) here, in the grader, in a namespace where
   * what the instructor's locked cells import (``np``, ``check_close``, ``keras``...) and the
     values they compute from those alone (``s = banknote_splits()``, the exam variant ``v``) are
     the grader's own, never the kernel's;
   * an exam's typed answers are read from the answer cell's source, never from the kernel;
   * every other name the test reads is the student's: fetched from the kernel as plain data,
     functions as :class:`~.kernel_values.RemoteFunction`, models as
     :class:`~.kernel_values.ModelSnapshot`;
3. replaces what the kernel said about the cell by the grader's verdict: the cell keeps the
   student's printed output; an error output with the failed check's message when the check
   failed; nothing else. nbgrader's SaveAutoGrades then scores the cell from that verdict.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import re
import warnings
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from .kernel_values import Kernel

HIDDEN_TESTS = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS[^\n]*\n.*?^[^\n]*END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S)
#: Error names the grading machinery writes (limits, cells not run, timeouts): kept as they are.
MACHINERY_ERRORS = frozenset({"GradingLimitExceeded", "NotExecuted", "CellTimeoutError"})
GRADER_ENAME = "AssertionError"
BUILTIN_NAMES = frozenset(dir(builtins))
#: The name under which a test cell run by the grader finds the kernel (see course_utils.checks.student_globals).
KERNEL_HANDLE = "__course_kernel__"


def visible_source(source: str) -> str:
    """The cell as released to students: without its hidden tests."""
    return HIDDEN_TESTS.sub("", source)


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_instructor_cell(cell: NotebookNode) -> bool:
    """A locked cell with a grade id: after nbgrader's OverwriteCells (both grading paths run it first) its
    source is the instructor's, restored from the gradebook. A student's cell that merely claims to be
    locked has no grade id left (OverwriteCells deletes unknown ones) and is never trusted."""
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("locked")) and bool(meta.get("grade_id")) \
        and not meta.get("solution")


def is_test_cell(cell: NotebookNode) -> bool:
    return is_instructor_cell(cell) and bool(_meta(cell).get("grade"))


class _Names(ast.NodeVisitor):
    """Names a piece of code reads, and names it binds (any scope)."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.bound: set[str] = set()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id not in self.loaded:
                self.loaded.append(node.id)
        else:
            self.bound.add(node.id)

    def visit_alias(self, node: ast.alias) -> None:
        self.bound.add((node.asname or node.name).split(".")[0])

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)

    def _define(self, node) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _define

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)


def free_names(tree: ast.AST) -> list[str]:
    """Names ``tree`` reads but never binds, builtins excluded, in order of first use."""
    names = _Names()
    names.visit(tree)
    return [n for n in names.loaded if n not in names.bound and n not in BUILTIN_NAMES]


@dataclass
class _Prelude:
    """What the instructor's locked cells before a test cell define, as statements the grader can run."""

    imports: dict[str, str] = field(default_factory=dict)  # name -> import statement
    assigns: dict[str, tuple[str, list[str], int]] = field(default_factory=dict)  # name -> (stmt, needs, order)

    @classmethod
    def of(cls, nb: NotebookNode, index: int) -> "_Prelude":
        prelude = cls()
        order = 0
        for cell in nb.cells[:index]:
            if not is_instructor_cell(cell):
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for stmt in tree.body:
                order += 1
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    for alias in stmt.names:
                        single = type(stmt)(names=[alias], **({"module": stmt.module, "level": stmt.level}
                                                             if isinstance(stmt, ast.ImportFrom) else {}))
                        name = (alias.asname or alias.name).split(".")[0]
                        prelude.imports[name] = ast.unparse(single)
                        prelude.assigns.pop(name, None)
                elif isinstance(stmt, ast.Assign) and all(_plain_target(t) for t in stmt.targets):
                    needs = free_names(stmt.value)
                    for target in stmt.targets:
                        for node in ast.walk(target):
                            if isinstance(node, ast.Name):
                                prelude.assigns[node.id] = (ast.unparse(stmt), needs, order)
                                prelude.imports.pop(node.id, None)
        return prelude

    def statements_for(self, names: list[str]) -> tuple[list[str], set[str]]:
        """(statements to run in the grader, in notebook order; the names they define)."""
        chosen_imports: dict[str, str] = {}
        chosen_assigns: dict[str, tuple[str, int]] = {}
        failed: set[str] = set()

        def resolve(name: str, stack: tuple[str, ...] = ()) -> bool:
            if name in chosen_imports or name in chosen_assigns:
                return True
            if name in failed or name in stack:
                return False
            if name in self.imports:
                chosen_imports[name] = self.imports[name]
                return True
            if name in self.assigns:
                stmt, needs, order = self.assigns[name]
                if all(n in BUILTIN_NAMES or resolve(n, stack + (name,)) for n in needs):
                    chosen_assigns[name] = (stmt, order)
                    return True
            failed.add(name)
            return False

        defined = {n for n in names if resolve(n)}
        statements = list(dict.fromkeys(chosen_imports.values()))
        statements += list(dict.fromkeys(s for s, _ in sorted(chosen_assigns.values(), key=lambda item: item[1])))
        return statements, defined | set(chosen_imports) | set(chosen_assigns)


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts)


def _exam_answers(nb: NotebookNode) -> dict[str, object]:
    """An exam's typed answers, read from the answer cells' sources (never the kernel's values)."""
    from ..exam.answers import answer_cell_sources, is_exam

    if not is_exam(nb):
        return {}
    from course_utils.typed_answers import read_answer_cell

    found: dict[str, object] = {}
    for cell_id, source in answer_cell_sources(nb).items():
        answers = read_answer_cell(source, cell_id)
        if "__error__" not in answers:
            found.update(answers)
    return found


@dataclass
class Verdict:
    passed: bool
    message: str = ""
    ename: str = GRADER_ENAME


def _message(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, AssertionError):
        return GRADER_ENAME, str(exc).strip() or "a check of this cell failed"
    return type(exc).__name__, str(exc).strip() or type(exc).__name__


def judge(nb: NotebookNode, index: int, kernel: Kernel) -> Verdict:
    """Run the whole test cell ``index`` in the grader against the student's kernel."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    source = nb.cells[index].source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return Verdict(False, f"the test cell cannot be parsed: {exc}", "SyntaxError")
    needed = free_names(tree)
    statements, trusted = _Prelude.of(nb, index).statements_for(needed)
    namespace: dict[str, object] = {"__name__": "__grader_check__", "__builtins__": builtins,
                                    KERNEL_HANDLE: kernel}
    typed = _exam_answers(nb)
    for name in needed:
        if name not in trusted and name in typed:
            namespace[name] = typed[name]
    student_names = [n for n in needed if n not in trusted and n not in namespace]
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            for statement in statements:
                exec(compile(statement, "<instructor cell>", "exec"), namespace)  # noqa: S102 - instructor code
            if student_names:
                namespace.update(kernel.fetch(student_names))
            exec(compile(source, "<test cell>", "exec"), namespace)  # noqa: S102 - instructor code
    except Exception as exc:  # noqa: BLE001 - every failure of a check is the verdict
        ename, message = _message(exc)
        return Verdict(False, message, ename)
    return Verdict(True)


def apply_verdict(cell: NotebookNode, verdict: Verdict) -> None:
    """Keep the student's printed output and the machinery's errors; add the grader's verdict."""
    kept = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error" and out.get("ename") in MACHINERY_ERRORS:
            kept.append(out)
        elif kind == "stream" and out.get("name") == "stdout" or kind == "display_data":
            kept.append(out)
    if not verdict.passed:
        kept.append(nbformat.v4.new_output("error", ename=verdict.ename, evalue=verdict.message,
                                           traceback=[f"{verdict.ename}: {verdict.message}"]))
    cell.outputs = kept


def machinery_failure(cell: NotebookNode) -> str | None:
    """The reason the kernel could not finish this cell (time or resource limit), if any."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error" and out.get("ename") in MACHINERY_ERRORS:
            return out.get("evalue") or out.get("ename")
    return None
