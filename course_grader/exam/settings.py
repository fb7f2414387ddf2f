"""The exam's settings (``c.Exam.*`` in ``nbgrader_config.py``) and the instructor-only solver."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

from course_utils.exam import DEMO_SEED

from ..paths import course_root


class Exam(Configurable):
    """The exam's settings: ``c.Exam.*`` in ``nbgrader_config.py`` (the one source of truth)."""

    assignment = Unicode("w1exam", help="the nbgrader assignment that is the exam").tag(config=True)
    seed = Int(DEMO_SEED, help="the exam seed: variants derive from sha256('<seed>:<student id>')").tag(config=True)
    start = Unicode("", help="start of the exam window, e.g. '2025-04-15 13:30:00 Europe/Zurich'").tag(config=True)
    end = Unicode("", help="end of the exam window = the nbgrader due date").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after `end` that still count as on time").tag(config=True)
    late_penalty_per_minute = Float(
        1.0, help="fraction of the notebook's score deducted per started minute after the grace period "
                  "(1.0: a late exam scores 0)").tag(config=True)
    solver = Unicode("", help="path of the instructor-only solver module "
                              "(default: <course repository>/instructor/<assignment>_solution.py)").tag(config=True)

    def window(self):
        """(start, end) as naive UTC datetimes (None where not set)."""
        from nbgrader.utils import parse_utc

        return (parse_utc(self.start) if self.start else None, parse_utc(self.end) if self.end else None)


def exam_config(root: Path | None = None) -> Exam:
    """The :class:`Exam` settings from ``<root>/nbgrader_config.py`` (default: this repository)."""
    from traitlets.config.loader import PyFileConfigLoader

    folder = Path(root or course_root())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    return Exam(config=config)


def load_solver(assignment: str, exam: Exam | None = None, root: Path | None = None) -> ModuleType | None:
    """The instructor-only solver module of ``assignment`` (None when this installation lacks it)."""
    path = Path(exam.solver) if exam is not None and exam.solver else \
        Path(root or course_root()) / "instructor" / f"{assignment}_solution.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_course_solver_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
