"""The demo class: every corpus entry handed in as a student, graded end to end with nbgrader."""
from __future__ import annotations

import csv
from pathlib import Path

from . import corpus, notebooks
from .nbgrader_course import Course


def submit_demo_class(course: Course, assignments: list[str]) -> dict[str, list[str]]:
    """Submit each assignment's corpus entries as students named after the entries; return assignment -> students."""
    roster: dict[str, list[str]] = {}
    for assignment in assignments:
        sources = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(course.root / "source" / assignment)}
        released = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(course.root / "release" / assignment)}
        roster[assignment] = []
        for entry in corpus.load_entries(assignment):
            if entry.kind == "attack":
                continue  # attacks are graded by the test suite, not shown in the demo class
            name = entry.notebook or next(iter(sources))
            course.submit(entry.student, assignment, {name: corpus.build_submission(entry, sources[name], released[name])})
            roster[assignment].append(entry.student)
    return roster


def grades_table(csv_path: Path) -> str:
    """A plain-text table (student x assignment) from an ``nbgrader export`` CSV."""
    rows = list(csv.DictReader(csv_path.open()))
    assignments = sorted({r["assignment"] for r in rows})
    students = sorted({r["student_id"] for r in rows})
    score = {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    width = max(len(s) for s in students) + 2
    lines = ["student".ljust(width) + "".join(a[:18].rjust(20) for a in assignments)]
    for student in students:
        cells = []
        for a in assignments:
            got, best = score.get((student, a), (0.0, 0.0))
            cells.append(f"{got:g}/{best:g}".rjust(20))
        lines.append(student.ljust(width) + "".join(cells))
    return "\n".join(lines)
