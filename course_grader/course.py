"""A course directory driven by plain nbgrader: release, submit, autograde, read the gradebook.

Used by the demo, the corpus tests and the benchmark as the reference grading path.
Every step is the real nbgrader command line run in a subprocess, so what is tested
is exactly what an instructor runs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import notebooks
from .paths import course_root


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory (``source/``, ``release/``, ``submitted/``, gradebook)."""

    root: Path

    @property
    def db_url(self) -> str:
        return os.environ.get("COURSE_DB_URL", f"sqlite:///{self.root / 'gradebook.db'}")

    @classmethod
    def scratch(cls, root: Path, assignments: list[str] | None = None, project: Path | None = None) -> "Course":
        """A fresh course at ``root`` with the project's config and source notebooks."""
        project = project or course_root()
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / "nbgrader_config.py", root / "nbgrader_config.py")
        for name in assignments or notebooks.assignments(project):
            target = root / "source" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(project / "source" / name, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        return cls(root)

    def nbgrader(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in this course directory."""
        environment = dict(os.environ, COURSE_ROOT=str(self.root), **(env or {}))
        # nbgrader shells out to `alembic`: the virtual environment's bin must be on PATH.
        environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
        cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={self.root}"]
        result = subprocess.run(cmd, cwd=self.root, env=environment, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise NbgraderError(f"`nbgrader {' '.join(args)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def generate_assignment(self, assignment: str) -> Path:
        """Write ``release/<assignment>`` and record the assignment in the gradebook."""
        self.nbgrader("generate_assignment", assignment, "--force")
        return self.root / "release" / assignment

    def submit(self, student: str, assignment: str, notebooks_by_name: dict[str, NotebookNode], timestamp: str | None = None) -> Path:
        """Place a student's notebooks in ``submitted/<student>/<assignment>/`` as nbgrader collect would."""
        folder = self.root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, nb in notebooks_by_name.items():
            nbformat.write(nb, str(folder / name))
        if timestamp:
            (folder / "timestamp.txt").write_text(timestamp)
        return folder

    def autograde(self, assignment: str, student: str | None = None, env: dict[str, str] | None = None) -> None:
        """Run ``nbgrader autograde`` (all submitted students, or one)."""
        args = ["autograde", assignment, "--force", "--Autograde.create_student=True"]
        if student:
            args += ["--student", student]
        self.nbgrader(*args, env=env)

    def scores(self, assignment: str, student: str) -> dict[str, dict[str, float]]:
        """notebook name -> grade_id -> score, read from the gradebook."""
        from nbgrader.api import Gradebook

        result: dict[str, dict[str, float]] = {}
        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission(assignment, student)
            for nb in submission.notebooks:
                result[nb.name] = {grade.name: float(grade.score) for grade in nb.grades}
        return result
