#!/usr/bin/env python3
"""Mutation analysis of the hidden tests: how many broken reference solutions do they catch?

    python scripts/mutation_analysis.py [ASSIGNMENT ...]

Prints, per solution cell and per grade cell, how many mutants the tests kill, and every
survivor with the reason it is equivalent (tests/mutation_equivalents.yaml). Exit 1 when
a survivor is not explained.
"""
from __future__ import annotations

import argparse
import sys
import time

import yaml

from course_grader import notebooks
from course_tooling import mutation
from course_grader.paths import course_root

EQUIVALENTS = course_root() / "tests" / "mutation_equivalents.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args(argv)
    equivalent = yaml.safe_load(EQUIVALENTS.read_text()) or {}
    results = []
    for assignment in args.assignments or notebooks.assignments():
        for path in notebooks.notebook_paths(notebooks.source_dir() / assignment):
            start = time.perf_counter()
            batch = mutation.run_mutants(path, mutation.all_mutants(assignment, path))
            print(f"{assignment}: {len(batch)} mutants in {time.perf_counter() - start:.0f} s", file=sys.stderr)
            results += batch
    print(mutation.report(results, equivalent))
    killed, real = mutation.kill_rate(results, equivalent)
    print(f"\nkill rate: {killed}/{real} non-equivalent mutants killed ({100 * killed / max(real, 1):.1f} %); "
          f"{len(results) - real} equivalent mutants explained")
    unexplained = [r for r in results if r.killed_by is None and r.mutant.key not in equivalent]
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
