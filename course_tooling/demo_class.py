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


#: The file that marks a folder as a demo course (the demo refuses to write anywhere else).
MARKER = "DEMO-COURSE.txt"


class NotADemoCourse(RuntimeError):
    """The demo was pointed at a folder that holds something else (a real course, say)."""


def claim_demo_folder(root: Path) -> None:
    """Make ``root`` a demo course folder, or refuse when it already holds anything that is not one."""
    if root.exists() and any(root.iterdir()) and not (root / MARKER).is_file():
        raise NotADemoCourse(f"{root} is not empty and is not a demo course (no {MARKER}): the demo grades "
                             "only in a scratch folder of its own; choose another folder with --dir")
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("A scratch course written by `course demo`: the demo class, its gradebook, "
                               "exports and feedback. Safe to delete.\n")


def demo_course(root: Path, assignments: list[str], attacks: bool = False) -> tuple[Course, dict[str, list[str]]]:
    """A scratch course at ``root``: the project's sources, released, with the demo class submitted."""
    claim_demo_folder(root)
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


def score_mismatches(course: Course, roster: dict[str, list[str]]) -> list[str]:
    """One line for every demo student whose gradebook scores differ from what the corpus entry states."""
    from nbgrader.api import MissingEntry

    by_student = {(a, e.student): e for a in roster for e in corpus.load_entries(a)}
    problems = []
    for assignment, students in roster.items():
        for student in students:
            entry = by_student[(assignment, student)]
            try:
                graded = course.scores(assignment, student)
            except MissingEntry:
                problems.append(f"{assignment}/{student}: not graded")
                continue
            notebook = Path(entry.notebook).stem if entry.notebook else next(iter(graded), "")
            actual = graded.get(notebook, {})
            wrong = {c: (want, actual.get(c)) for c, want in entry.expected.items()
                     if actual.get(c) is None or abs(actual[c] - want) > 1e-9}
            if wrong:
                problems.append(f"{assignment}/{student}: " + ", ".join(
                    f"{cell} scored {got} (expected {want:g})" for cell, (want, got) in sorted(wrong.items())))
    return problems
