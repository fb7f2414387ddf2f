#!/usr/bin/env python3
"""Grade the reference solution of every assignment under several training seeds.

    python scripts/seed_spread.py --seeds 1-10 [ASSIGNMENT ...]

Each seed is a full nbgrader autograde run with ``COURSE_SEED`` set (the notebooks seed
numpy, torch and Keras from it). Prints each seed's total and the spread (max - min),
which must be zero: a grade may not depend on the seed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from course_grader import notebooks
from course_tooling.corpus_grading import grade_entries


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--seeds", default="1-10")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    worst = 0.0
    print("| assignment | seeds | totals | spread |\n| --- | --- | --- | --- |")
    for assignment in args.assignments or notebooks.assignments():
        totals = []
        for seed in tqdm(seeds, desc=assignment, unit="seed", file=sys.stderr):
            with tempfile.TemporaryDirectory() as tmp:
                ((_, scores),) = grade_entries(assignment, Path(tmp), ["reference"], env={"COURSE_SEED": str(seed)})
            totals.append(sum(scores.values()))
        spread = max(totals) - min(totals)
        worst = max(worst, spread)
        print(f"| `{assignment}` | {args.seeds} | {', '.join(f'{t:g}' for t in totals)} | {spread:g} |", flush=True)
    print(f"largest spread: {worst:g}")
    return 0 if worst == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
