"""``autograde``: nbgrader's Execute step, run the way ``course grade`` runs it.

With this preprocessor in place of ``Execute``, a plain ``nbgrader autograde`` executes each
notebook in the same bubblewrap sandbox, under the same limits, and judges every test cell in
the grader's process (:mod:`course_grader.grading.grader_checks`), exactly as ``course grade``
does on its workers. Without bubblewrap it refuses to run student code. When the machinery fails
before any student code ran, it raises: nbgrader then stores no grade for the notebook, reports
the error and exits non-zero (a grading fault is never a student's zero).
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute

from ..grading.limits import Limits
from ..grading.state import _files
from ..grading.submission_files import describe, notebook_refusal, refused_entries


class GradingMachineryError(RuntimeError):
    """The sandbox or kernel failed before any student code ran: no grade may be stored."""


class GradeInSandbox(Execute):
    """nbgrader's ``Execute`` replaced by the course's sandboxed executor (same config, same limits)."""

    def preprocess(self, nb, resources=None, km=None):
        from ..grading.device import resolve as resolve_device
        from ..grading.grader_checks import is_instructor_cell
        from ..grading.remote_execution import execute_notebook, mark_failure
        from ..grading.runner import execute_config, shared_data_cache

        resources = resources if resources is not None else {}
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        name = f"{resources.get('unique_key') or 'notebook'}.ipynb"
        files = {str(p.relative_to(folder)): p.read_bytes() for p in _files(folder)} if folder.is_dir() else {}
        # nbgrader copied the submission following links: whatever was a link (or device...) is dropped again
        refused = refused_entries(self._submitted_folder(resources))
        for rel in refused:
            files.pop(rel, None)
            if rel != "." and (folder / rel).is_file():
                (folder / rel).unlink()
        reason = notebook_refusal(refused, name)
        if reason:
            self.log.warning("%s", reason)
            for cell in nb.cells:  # what the link pointed at (a solution, a classmate's work) is not shown
                if cell.cell_type == "code" and not is_instructor_cell(cell):
                    cell.source, cell.outputs = f"# not graded: {reason}", []
            mark_failure(nb, None, reason)
            resources.setdefault("course_problems", []).append(reason)
            return nb, resources
        for line in describe(refused):
            self.log.warning("%s", line)
        files[name] = nbformat.writes(nb).encode("utf-8")
        limits = Limits.from_mapping(dict(self.config.get("CourseGrade", {}))).with_cell_wall(self.timeout)
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        device = resolve_device(limits.device, Path(self.config.get("CourseDirectory", {}).get("root", ".")), assignment)
        limits = limits.with_device(device, limits.gpu_memory_fraction)
        config = execute_config(self.config)
        config.setdefault("Execute", {})["timeout"] = int(limits.cell_wall_s or self.timeout or 30)
        result = execute_notebook(name, files, config, limits, shared_data_cache())
        if "infrastructure" in result:  # nbgrader then stores nothing for this notebook and exits non-zero
            raise GradingMachineryError(f"{name} was NOT graded: {result['infrastructure']}")
        for problem in result["problems"]:
            self.log.warning("%s: %s", name, problem)
        resources.setdefault("course_problems", []).extend(result["problems"])
        executed = nbformat.reads(result["nb"], as_version=4)
        nb.cells = executed.cells
        return nb, resources

    def _submitted_folder(self, resources: dict) -> Path:
        """``submitted/<student>/<assignment>`` as the instructor collected it (links not followed)."""
        course = self.config.get("CourseDirectory", {})
        info = resources.get("nbgrader", {})
        if not info.get("student") or not info.get("assignment"):
            return Path("/nonexistent")  # not run by nbgrader's autograde: nothing to check
        return (Path(course.get("root", ".")) / course.get("submitted_directory", "submitted")
                / str(info.get("student", "")) / str(info.get("assignment", "")))
