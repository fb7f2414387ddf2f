#!/usr/bin/env python
"""Time grading the demo class on the CPU and on the GPU, per assignment and number of workers.

    .venv/bin/python scripts/benchmark_devices.py [--assignments w1a4_keras ...] [--workers 1 4 8] [--record]

Each run grades every demo submission of the assignment with `course grade --force` (cluster
start-up included) in a scratch course, once with CUDA hidden and, where the machine has an
NVIDIA GPU, once with it visible, and checks that both give the same scores. `--record` stores
the times and the faster device in grading-benchmarks/devices.json of this repository, where
`c.CourseGrade.device = "auto"` reads them (a measurement belongs to the machine it ran on).
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_grader import notebooks  # noqa: E402
from course_tooling.demo_class import demo_course  # noqa: E402
from course_grader.grading import device  # noqa: E402
from course_grader.grading.runner import grade_assignment  # noqa: E402


def machine() -> str:
    """This machine in words: GPU (if any), CPU count, Python."""
    gpu = "no GPU"
    if device.gpu_device_nodes():
        query = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                               capture_output=True, text=True)
        gpu = query.stdout.strip().replace("\n", ", ") or "an NVIDIA GPU"
    return f"{gpu}; {os.cpu_count()} CPU cores; {platform.processor() or platform.machine()}; Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignments", nargs="+", default=notebooks.assignments())
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument("--record", action="store_true", help="write grading-benchmarks/devices.json")
    args = parser.parse_args()
    devices = ["cpu", "cuda"] if device.gpu_device_nodes() else ["cpu"]
    best: dict[str, dict[str, float]] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-devices-") as tmp:
        for assignment in args.assignments:
            scores = {}
            for dev in devices:
                course, roster = demo_course(Path(tmp) / assignment / dev, [assignment])
                for workers in args.workers:
                    started = time.monotonic()
                    run = grade_assignment(course.root, assignment, workers=workers, force=True, progress=False,
                                           export=False, device=dev)
                    seconds = time.monotonic() - started
                    rows.append((assignment, dev, workers, len(run.graded), seconds))
                    fastest = best.setdefault(assignment, {})
                    fastest[dev] = min(seconds, fastest.get(dev, float("inf")))
                scores[dev] = {s: course.scores(assignment, s) for s in roster[assignment]}
            same = all(scores[d] == scores["cpu"] for d in devices)
            print(f"{assignment}: identical scores on {' and '.join(devices)}: {same}", flush=True)
            if not same:
                return 1
    print(f"\nmachine: {machine()}\n")
    print("| assignment | device | workers | submissions | seconds | submissions/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for assignment, dev, workers, n, seconds in rows:
        print(f"| `{assignment}` | {dev} | {workers} | {n} | {seconds:.1f} | {n / seconds:.2f} |")
    print("\nfaster device: " + ", ".join(f"{a}: {device.faster(s)}" for a, s in best.items()))
    if args.record:
        print(f"recorded in {device.record_measurements(ROOT, best, machine())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
