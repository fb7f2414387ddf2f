"""The demo class: every corpus entry handed in as a student, graded end to end with nbgrader."""
from __future__ import annotations

import csv
from pathlib import Path

from course_grader import notebooks
from course_grader.course import Course

from . import corpus


def submit_demo_class(course: Course, assignments: list[str], attacks: bool = False) -> dict[str, list[str]]:
    """Submit each assignment's corpus entries as students named after the entries; return assignment -> students.

    Attacks are left out (the test suite grades them) unless ``attacks`` is true.
    """
    roster: dict[str, list[str]] = {}
    for assignment in assignments:
        sources = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(course.root / "source" / assignment)}
        released = {p.name: notebooks.read(p) for p in notebooks.notebook_paths(course.root / "release" / assignment)}
        roster[assignment] = []
        for entry in corpus.load_entries(assignment):
            if entry.kind == "attack" and not attacks:
                continue
            name = entry.notebook or next(iter(sources))
            course.submit(entry.student, assignment, {name: corpus.build_submission(entry, sources[name], released[name])})
            roster[assignment].append(entry.student)
    return roster


def demo_course(root: Path, assignments: list[str], attacks: bool = False) -> tuple[Course, dict[str, list[str]]]:
    """A scratch course at ``root``: the project's sources, released, with the demo class submitted."""
    course = Course.scratch(root, assignments)
    for assignment in assignments:
        course.generate_assignment(assignment)
    return course, submit_demo_class(course, assignments, attacks)


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
