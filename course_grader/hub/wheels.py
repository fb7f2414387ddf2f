"""Wheels of the course's own code, each built from a staging copy (the checkout gets no build/ folder).

* :func:`student_wheel`: ``course_utils`` alone, what students install (no notebook, solution,
  hidden test, corpus, grader or exam solver); ``scripts/build_student_package.py`` prints its path.
* :func:`project_wheel`: the instructors' installation (runtime, grader, test tooling), by the
  repository's own ``pyproject.toml``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STUDENT_PACKAGE = "course_utils"

STUDENT_PYPROJECT = """\
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


def student_version(repo: Path) -> str:
    """``course_utils.__version__``, read from its source."""
    for line in (repo / STUDENT_PACKAGE / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit(f"no __version__ in {STUDENT_PACKAGE}/__init__.py")


def staged_wheel(repo: Path, names: list[str], dest: Path, glob: str, pyproject: str | None = None) -> Path:
    """Build the wheel of ``names`` (folders and files of ``repo``) into ``dest``; ``pyproject`` replaces the
    repository's ``pyproject.toml`` when given. Returns the newest wheel matching ``glob``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as tmp:
        stage = Path(tmp)
        for name in names:
            source = repo / name
            if source.is_dir():
                shutil.copytree(source, stage / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, stage / name)
        if pyproject is not None:
            (stage / "pyproject.toml").write_text(pyproject)
        before = set(dest.glob(glob))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "--disable-pip-version-check", "-w", str(dest), str(stage)], check=True)
    built = sorted(set(dest.glob(glob)) - before) or sorted(dest.glob(glob))
    if not built:
        raise SystemExit(f"pip built no wheel matching {glob}")
    return built[-1]


def student_wheel(repo: Path, dest: Path) -> Path:
    version = student_version(repo)
    return staged_wheel(repo, [STUDENT_PACKAGE], dest, f"{STUDENT_PACKAGE}-{version}-*.whl",
                        STUDENT_PYPROJECT.format(version=version, package=STUDENT_PACKAGE))


def project_wheel(repo: Path, dest: Path) -> Path:
    return staged_wheel(repo, ["pyproject.toml", "course_utils", "course_grader", "course_tooling"], dest,
                        "mi_week1_course-*.whl")
