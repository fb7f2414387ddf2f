"""Where the course lives: the repository that holds ``source/``, ``release/`` and ``nbgrader_config.py``."""
from __future__ import annotations

import os
from pathlib import Path


def course_root() -> Path:
    """The course repository this package was installed from (an editable install of the checkout)."""
    return Path(__file__).resolve().parent.parent


def default_course() -> Path:
    """The course a command works on when none is named: ``$COURSE_ROOT``, else the current folder when it
    holds an ``nbgrader_config.py`` (an instructor's course folder), else this checkout."""
    if os.environ.get("COURSE_ROOT"):
        return Path(os.environ["COURSE_ROOT"]).resolve()
    here = Path.cwd()
    if (here / "nbgrader_config.py").is_file() and (here / "source").is_dir():
        return here
    return course_root()
