#!/usr/bin/env python3
"""Execution time of every source notebook (the reference solution), kernel start included.

    python scripts/benchmark_notebooks.py [--repeat 3]

Prints a markdown table (median of the repeats) for the README.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from nbclient import NotebookClient

from course_grader import notebooks


def time_notebook(path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        nb = notebooks.read(path)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print("| notebook | median seconds | runs |\n| --- | --- | --- |")
    for assignment in notebooks.assignments():
        for path in notebooks.notebook_paths(notebooks.source_dir() / assignment):
            times = time_notebook(path, args.repeat)
            runs = ", ".join(f"{t:.1f}" for t in times)
            print(f"| `{assignment}/{path.name}` | {statistics.median(times):.1f} | {runs} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
