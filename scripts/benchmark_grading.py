#!/usr/bin/env python
"""Benchmark `course grade` against serial `nbgrader autograde` on the same N submissions.

    .venv/bin/python scripts/benchmark_grading.py                      # the tiny fixture course, n=8
    .venv/bin/python scripts/benchmark_grading.py -n 4 --assignment w1a1_single_neuron w1a2_forward_pass
    .venv/bin/python scripts/benchmark_grading.py -n 4 --assignment all --workers 1 2 4 --json bench.json

Every student hands in the reference answers (an exam: the answers of the student's own variant).
Per assignment it grades them with plain `nbgrader autograde` (the course's nbgrader_config.py,
serial) and with `course grade --workers W` for each W (cluster start-up and pre-flight included),
checks that both store identical scores, and prints one Markdown row per runner:

- wall s: seconds of the whole run; subm/s: submissions per second;
- cell s: the notebooks' own cost, the summed wall time of their code cells (student and test cells).
  nbgrader row: from the autograded notebooks, where nbclient's ``record_timing`` leaves
  ``cell.metadata.execution`` (``iopub.execute_input`` .. ``shell.execute_reply``; nbgrader's
  ClearMetadataPreprocessor is disabled by default, so it is kept). `course grade` rows: its own
  ``run.cell_seconds`` (the executor's clock around each code cell, test-cell checks included);
- limit s: the physical limit, nbgrader's cell s / ``os.cpu_count()``; x limit = wall s / limit s;
- overhead s/nb: worker-seconds not spent in cells per notebook executed,
  (wall s * W - run.cell_seconds) / run.notebooks; it includes the fixed costs (cluster, pre-flight,
  gradebook), so it falls with n;
- start-up s: starting and closing an empty local cluster of W workers (measured once per W);
- speed-up: nbgrader's wall s / this runner's wall s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_grader import notebooks  # noqa: E402
from course_grader.course import Course  # noqa: E402
from course_tooling.corpus import CorpusEntry, build_submission  # noqa: E402

TINY = "tiny"  # the fixture course used when no assignment is given


def student(i: int) -> str:
    return f"student{i:03d}"


def make_course(root: Path, assignment: str, n: int) -> Course:
    """A scratch course holding ``assignment`` (released) and ``n`` submissions of the reference answers."""
    if assignment == TINY:
        course = Course(root)
        (root / "source" / TINY).mkdir(parents=True)
        shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copy2(ROOT / "tests" / "fixtures" / "tiny_course_demo.ipynb", root / "source" / TINY / "demo.ipynb")
    else:
        course = Course.scratch(root, [assignment], project=ROOT)
    course.generate_assignment(assignment)
    paths = notebooks.notebook_paths(root / "source" / assignment)
    for i in range(n):
        entry = CorpusEntry(assignment, "reference", "reference", "correct", "solution", {}, student_id=student(i))
        course.submit(student(i), assignment, {
            p.name: build_submission(entry, notebooks.read(p), notebooks.read(root / "release" / assignment / p.name))
            for p in paths})
    return course


def recorded_cell_seconds(course: Course, assignment: str) -> tuple[int, float]:
    """(notebooks, summed code-cell seconds) from the execution timing nbclient left in the autograded notebooks."""
    count, total = 0, 0.0
    for path in sorted((course.root / "autograded").glob(f"*/{assignment}/*.ipynb")):
        count += 1
        for cell in notebooks.read(path).cells:
            timing = cell.get("metadata", {}).get("execution", {})
            if cell.cell_type != "code" or not cell.source.strip():  # nbclient skips empty cells
                continue
            if {"iopub.execute_input", "shell.execute_reply"} <= set(timing):
                total += (dt.datetime.fromisoformat(timing["shell.execute_reply"])
                          - dt.datetime.fromisoformat(timing["iopub.execute_input"])).total_seconds()
            else:
                raise SystemExit(f"{path}: a code cell has no execution timing (was record_timing turned off, "
                                 "or ClearMetadataPreprocessor enabled?)")
    return count, total


def startup_seconds(workers: int) -> float | None:
    """Seconds to start and close an empty local cluster of ``workers`` (None if the runner's API changed)."""
    try:
        from course_grader.grading.runner import _Cluster
    except ImportError:
        return None
    started = time.monotonic()
    _Cluster(None, workers).close()
    return time.monotonic() - started


def same_scores(a: Course, b: Course, assignment: str, n: int) -> bool:
    return all(a.scores(assignment, student(i)) == b.scores(assignment, student(i)) for i in range(n))


def bench(assignment: str, n: int, workers: list[int], startup: dict[int, float | None], tmp: Path) -> list[dict]:
    """The rows of one assignment: serial nbgrader first, then `course grade` for each worker count."""
    from course_grader.grading.runner import grade_assignment

    plain = make_course(tmp / assignment / "plain", assignment, n)
    ours = make_course(tmp / assignment / "ours", assignment, n)
    started = time.monotonic()
    plain.autograde(assignment)
    baseline = time.monotonic() - started
    print(f"{assignment}: nbgrader autograde (serial) {baseline:.1f} s", file=sys.stderr, flush=True)
    count, cells = recorded_cell_seconds(plain, assignment)
    limit = cells / (os.cpu_count() or 1)
    rows = [{"assignment": assignment, "runner": "nbgrader autograde (serial)", "workers": 1, "submissions": n,
             "notebooks": count, "seconds": baseline, "cell_seconds": cells, "overhead_per_notebook":
             (baseline - cells) / count, "startup_seconds": None, "identical_scores": None}]
    for w in workers:
        started = time.monotonic()
        run = grade_assignment(ours.root, assignment, workers=w, force=True, progress=False, export=False)
        seconds = time.monotonic() - started
        print(f"{assignment}: course grade --workers {w} {seconds:.1f} s", file=sys.stderr, flush=True)
        if len(run.graded) != n or run.failed or run.not_graded or run.stopped:
            raise SystemExit(f"course grade --workers {w} did not grade everything:\n{run.summary()}")
        rows.append({"assignment": assignment, "runner": f"course grade --workers {w}", "workers": w,
                     "submissions": n, "notebooks": run.notebooks, "seconds": seconds,
                     "cell_seconds": run.cell_seconds,
                     "overhead_per_notebook": (seconds * w - run.cell_seconds) / max(run.notebooks, 1),
                     "startup_seconds": startup[w], "identical_scores": same_scores(plain, ours, assignment, n)})
    for row in rows:
        row.update(limit_seconds=limit, speedup=baseline / row["seconds"], times_limit=row["seconds"] / limit)
    return rows


def machine() -> dict:
    """Date (UTC), CPU model, cores, RAM, Python and torch versions."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = None
    return {"date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": model,
            "cores": os.cpu_count(), "ram_gib": round(ram, 1), "python": platform.python_version(), "torch": torch}


COLUMNS = [("assignment", "{}"), ("runner", "{}"), ("submissions", "{}"), ("notebooks", "{}"), ("seconds", "{:.1f}"),
           ("subm/s", "{:.2f}"), ("cell_seconds", "{:.1f}"), ("limit_seconds", "{:.1f}"), ("times_limit", "{:.2f}x"),
           ("overhead_per_notebook", "{:.2f}"), ("startup_seconds", "{:.1f}"), ("speedup", "{:.2f}x"),
           ("identical_scores", "{}")]
HEADINGS = ["assignment", "runner", "subm", "notebooks", "wall s", "subm/s", "cell s", "limit s", "x limit",
            "overhead s/nb", "start-up s", "speed-up", "same scores"]


def markdown(info: dict, rows: list[dict]) -> str:
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row["submissions"] / row["seconds"] if key == "subm/s" else row[key]
        return "—" if value is None else fmt.format(value)

    lines = [f"### Grading benchmark, {info['date_utc']}",
             f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; "
             f"Python {info['python']}, torch {info['torch'] or 'not installed'}", "",
             "| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
    lines += ["| " + " | ".join(cell(row, key, fmt) for key, fmt in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=8, help="submissions per assignment (default 8)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="`course grade` worker counts")
    parser.add_argument("--assignment", nargs="+", default=[TINY], metavar="NAME",
                        help="assignments under source/, or `all` (default: the tiny fixture course)")
    parser.add_argument("--json", type=Path, help="also write the header and rows as JSON to this path")
    args = parser.parse_args()
    assignments = notebooks.assignments(ROOT) if args.assignment == ["all"] else args.assignment
    unknown = [a for a in assignments if a != TINY and not (ROOT / "source" / a).is_dir()]
    if unknown:
        parser.error(f"no such assignment under source/: {', '.join(unknown)}")

    info = machine()
    startup = {w: startup_seconds(w) for w in args.workers}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        for assignment in assignments:
            rows += bench(assignment, args.n, args.workers, startup, Path(tmp))
    print(markdown(info, rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    return 0 if all(row["identical_scores"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
