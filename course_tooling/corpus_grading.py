"""Grade corpus entries through nbgrader and compare each cell with what the entry expects."""
from __future__ import annotations

from pathlib import Path

from course_grader import notebooks
from course_grader.course import Course

from . import corpus

Scores = dict[str, float]


def grade_entries(
    assignment: str,
    workdir: Path,
    names: list[str] | None = None,
    env: dict[str, str] | None = None,
    project: Path | None = None,
) -> list[tuple[corpus.CorpusEntry, Scores]]:
    """Release ``assignment`` in a scratch course, submit the entries, autograde, return their scores.

    ``project`` is the course repository to take ``source/`` and ``tests/corpus/`` from (default: this one).
    """
    entries = [e for e in corpus.load_entries(assignment, project) if names is None or e.name in names]
    if names and len(entries) != len(names):
        found = {e.name for e in entries}
        raise SystemExit(f"unknown corpus entries: {sorted(set(names) - found)}")
    course = Course.scratch(workdir, [assignment], project)
    release = course.generate_assignment(assignment)
    sources = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(course.root / "source" / assignment)}
    released = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(release)}
    for entry in entries:
        name = entry.notebook or next(iter(sources))
        submission = corpus.build_submission(entry, sources[name], released[name], project)
        course.submit(entry.student, assignment, {name: submission})
    course.autograde(assignment, env=env)
    results = []
    for entry in entries:
        per_notebook = course.scores(assignment, entry.student)
        results.append((entry, per_notebook[Path(entry.notebook or next(iter(sources))).stem]))
    return results


def mismatches(entry: corpus.CorpusEntry, actual: Scores) -> dict[str, tuple[float | None, float | None]]:
    """grade_id -> (expected, actual) for every cell where they differ (or one side is missing)."""
    cells = set(entry.expected) | set(actual)
    return {
        c: (entry.expected.get(c), actual.get(c))
        for c in sorted(cells)
        if entry.expected.get(c) is None or actual.get(c) is None or abs(entry.expected[c] - actual[c]) > 1e-9
    }
