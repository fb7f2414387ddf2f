"""Shared fixtures: the repository root and a verified copy of the banknote data."""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from course_utils import data
from course_grader.paths import course_root

ROOT = course_root()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def banknote_csv() -> Path:
    """The cached, verified data set (the test command fetches it before pytest starts)."""
    return data.fetch_banknote()


@contextlib.contextmanager
def cpu_to_ourselves() -> Iterator[None]:
    """Hold the machine's test lock: what runs inside (the hub with its browser, a class graded under
    second-scale wall-clock limits) never overlaps the other holders on another xdist worker."""
    with open(Path(tempfile.gettempdir()) / f"mi-course-tests-cpu-{os.getuid()}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """nbval runs whole notebooks: those items are slow too (``pytest -m "not slow"`` is the fast loop)."""
    for item in items:
        if type(item).__module__.startswith("nbval"):
            item.add_marker(pytest.mark.slow)


_CORPUS: list[dict] = []
_MUTATION: list[dict] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect corpus outcomes (also from xdist workers, via user_properties)."""
    if report.when == "call":
        _CORPUS.extend(value for name, value in report.user_properties if name == "corpus")
        _MUTATION.extend(value for name, value in report.user_properties if name == "mutation")


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 (pytest's reporter type)
    """Print the corpus totals: correct work accepted, wrong work rejected, attacks defeated."""
    if _MUTATION:
        killed, real = sum(m["killed"] for m in _MUTATION), sum(m["real"] for m in _MUTATION)
        total = sum(m["total"] for m in _MUTATION)
        terminalreporter.write_sep("=", "mutation analysis")
        terminalreporter.write_line(f"mutants killed: {killed}/{real} non-equivalent ({total - real} equivalent, explained)")
    if not _CORPUS:
        return
    def count(kinds: tuple[str, ...], full: bool) -> tuple[int, int]:
        rows = [r for r in _CORPUS if r["kind"] in kinds]
        return sum(r["full"] is full and r["match"] for r in rows), len(rows)
    accepted = count(("correct",), True)
    rejected = count(("wrong", "partial", "blank"), False)
    attacks = count(("attack",), False)
    terminalreporter.write_sep("=", "submission corpus")
    terminalreporter.write_line(f"correct submissions accepted with full marks: {accepted[0]}/{accepted[1]}")
    terminalreporter.write_line(f"wrong, partial and blank submissions rejected with exact scores: {rejected[0]}/{rejected[1]}")
    terminalreporter.write_line(f"attacks that gained nothing: {attacks[0]}/{attacks[1]}")
