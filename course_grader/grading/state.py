"""Resumability: what was graded, from which submission bytes, under which grader.

``<course>/grading-state/<assignment>.json`` maps each student to the SHA-256 of their
submission folder, the fingerprint of the grader (source notebooks, nbgrader_config.py,
limits) and the outcome. It is rewritten atomically after every student, so an interrupted
run loses nothing already graded, and a rerun grades only what is missing or changed.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import time
from pathlib import Path

IGNORE = (".ipynb_checkpoints", "__pycache__", "*.pyc", "*.partial")


def _files(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(fnmatch.fnmatch(part, pat) for part in path.relative_to(folder).parts for pat in IGNORE):
            out.append(path)
    return out


def tree_hash(folder: Path, extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    if folder.is_dir():
        for path in _files(folder):
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def grader_fingerprint(root: Path, assignment: str, limits: dict) -> str:
    """Source notebooks, nbgrader_config.py, limits and the grading code itself: a change to any regrades."""
    import course_utils

    config = root / "nbgrader_config.py"
    grader = Path(__file__).resolve().parent.parent  # course_grader: the audit, the preprocessors, the sandbox
    runtime = Path(course_utils.__file__).resolve().parent  # course_utils: the checks the tests use
    extra = (json.dumps(limits, sort_keys=True) + (config.read_text() if config.exists() else "")
             + tree_hash(grader) + tree_hash(runtime))
    return tree_hash(root / "source" / assignment, extra)


class GradingState:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.students: dict[str, dict] = {}
        if path.exists():
            try:
                self.students = json.loads(path.read_text()).get("students", {})
            except (OSError, ValueError):
                self.students = {}  # unreadable state: grade everything again

    @classmethod
    def for_assignment(cls, root: Path, assignment: str) -> "GradingState":
        return cls(root / "grading-state" / f"{assignment}.json")

    def is_current(self, student: str, submission_hash: str, fingerprint: str) -> bool:
        entry = self.students.get(student)
        return bool(entry and entry.get("submission") == submission_hash and entry.get("grader") == fingerprint
                    and entry.get("status") in ("graded", "failed"))

    def record(self, student: str, **entry) -> None:
        self.students[student] = {**entry, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"students": self.students}, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
