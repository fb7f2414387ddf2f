#!/usr/bin/env python3
"""Grade corpus submissions with real nbgrader and compare with their expected scores.

    python scripts/grade_corpus.py w1a1_single_neuron            # every entry
    python scripts/grade_corpus.py w1a1_single_neuron blank ref  # some entries

Exit status 1 when any cell's score differs from the corpus entry's expectation.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from course_tooling.corpus_grading import grade_entries, mismatches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("entries", nargs="*", help="entry names (default: all)")
    parser.add_argument("--keep", type=Path, help="grade in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        results = grade_entries(args.assignment, workdir, args.entries or None)
    failures = 0
    for entry, actual in results:
        bad = mismatches(entry, actual)
        failures += bool(bad)
        status = "OK  " if not bad else "FAIL"
        print(f"{status} {entry.name:28s} [{entry.kind}] {entry.description}")
        for cell, (want, got) in bad.items():
            print(f"       {cell}: expected {want}, got {got}")
    print(f"{len(results) - failures} matched, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
