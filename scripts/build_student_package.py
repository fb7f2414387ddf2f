"""Build the student runtime wheel: ``course_utils`` alone, what students install in the hub.

    python scripts/build_student_package.py [-o DIST]

The wheel holds the ``course_utils`` package and nothing else of the repository: no
``source/`` notebook, no hidden test, no corpus, no grader (``course_grader``), no test tooling
(``course_tooling``) and no exam solver (``instructor/``). Its dependencies are NumPy and
Matplotlib; the notebooks' torch and Keras are the hub's own (extra ``[notebooks]``).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "course_utils"


def version() -> str:
    for line in (ROOT / PACKAGE / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit(f"no __version__ in {PACKAGE}/__init__.py")


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "course-utils"
version = "{version}"
description = "Student runtime of the Week-1 'Machine Intelligence: Deep Learning' notebooks"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26", "matplotlib>=3.8"]

[project.optional-dependencies]
notebooks = ["torch>=2.2", "keras>=3.3"]

[tool.setuptools]
packages = ["{package}"]
"""


def build(dest: Path) -> Path:
    """Build the wheel into ``dest`` from a staging folder that holds ``course_utils`` only."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-utils-build-") as tmp:
        stage = Path(tmp)
        shutil.copytree(ROOT / PACKAGE, stage / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (stage / "pyproject.toml").write_text(PYPROJECT.format(version=version(), package=PACKAGE))
        before = set(dest.glob("*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "--disable-pip-version-check", "-w", str(dest), str(stage)], check=True)
    built = sorted(set(dest.glob("course_utils-*.whl")) - before) or sorted(dest.glob(f"course_utils-{version()}-*.whl"))
    if not built:
        raise SystemExit("pip built no course_utils wheel")
    return built[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "dist", help="folder for the wheel (default: dist/)")
    wheel = build(parser.parse_args(argv).out)
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
