"""Where the course lives: the repository that holds ``source/``, ``release/`` and ``nbgrader_config.py``."""
from __future__ import annotations

from pathlib import Path


def course_root() -> Path:
    """The course repository this package was installed from (an editable install of the checkout)."""
    return Path(__file__).resolve().parent.parent
