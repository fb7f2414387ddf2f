#!/usr/bin/env python
"""Benchmark `course grade` against plain serial `nbgrader autograde` on the same N submissions.

    .venv/bin/python scripts/benchmark_grading.py -n 8 --workers 1 2 4
    .venv/bin/python scripts/benchmark_grading.py -n 8 --assignment <name under source/>

Each student hands in the reference answers (the tiny fixture course by default, or the
solutions of a real assignment). Reports wall time, submissions per second, and the
speed-up of `course grade` (sandboxed, cluster start-up included) over plain nbgrader.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_grader import notebooks  # noqa: E402
from course_tooling.corpus import CorpusEntry, build_submission  # noqa: E402
from course_grader.course import Course  # noqa: E402


def make_course(root: Path, assignment: str | None, n: int) -> tuple[Course, str]:
    root.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    if assignment:
        shutil.copytree(ROOT / "source" / assignment, root / "source" / assignment)
    else:
        assignment = "tiny"
        (root / "source" / assignment).mkdir(parents=True)
        shutil.copy2(ROOT / "tests" / "fixtures" / "tiny_course_demo.ipynb", root / "source" / assignment / "demo.ipynb")
    course = Course(root)
    course.generate_assignment(assignment)
    entry = CorpusEntry(assignment, "reference", "reference", "correct", "solution", {})
    answers = {}
    for path in notebooks.notebook_paths(root / "source" / assignment):
        answers[path.name] = build_submission(entry, notebooks.read(path),
                                              notebooks.read(root / "release" / assignment / path.name))
    for i in range(n):
        course.submit(f"student{i:03d}", assignment, answers)
    return course, assignment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=8, help="number of submissions")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--assignment", help="a real assignment under source/ (default: the tiny fixture course)")
    args = parser.parse_args()
    from course_grader.grading.runner import grade_assignment

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        plain, assignment = make_course(Path(tmp) / "plain", args.assignment, args.n)
        ours, _ = make_course(Path(tmp) / "ours", args.assignment, args.n)
        started = time.monotonic()
        plain.autograde(assignment)
        baseline = time.monotonic() - started
        rows = [("nbgrader autograde (serial, unsandboxed)", baseline)]
        for workers in args.workers:
            started = time.monotonic()
            run = grade_assignment(ours.root, assignment, workers=workers, force=True, progress=False, export=False)
            assert len(run.graded) == args.n and not run.failed, run.summary()
            rows.append((f"course grade --workers {workers} (sandboxed)", time.monotonic() - started))
        same = all(plain.scores(assignment, f"student{i:03d}") == ours.scores(assignment, f"student{i:03d}")
                   for i in range(args.n))
    print(f"\n{args.n} submissions of {assignment!r}; identical scores: {same}")
    print(f"{'runner':45} {'seconds':>8} {'subm/s':>8} {'speed-up':>9}")
    for name, seconds in rows:
        print(f"{name:45} {seconds:8.1f} {args.n / seconds:8.2f} {baseline / seconds:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
