"""Build the student runtime wheel: ``course_utils`` alone, what students install in the hub.

    python scripts/build_student_package.py [-o DIST]

The wheel holds the ``course_utils`` package and nothing else of the repository: no
``source/`` notebook, no hidden test, no corpus, no grader (``course_grader``), no test tooling
(``course_tooling``) and no exam solver (``instructor/``). Its dependencies are NumPy and
Matplotlib; the notebooks' torch and Keras are the hub's own (extra ``[notebooks]``).
The build itself is :func:`course_grader.hub.wheels.student_wheel` (``course hub setup`` uses it too).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course_grader.hub.wheels import student_wheel  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "dist", help="folder for the wheel (default: dist/)")
    print(student_wheel(ROOT, parser.parse_args(argv).out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
