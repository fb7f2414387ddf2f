"""Where the course data mirror and the data cache live."""
from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming a local folder that mirrors the course data sets.
MIRROR_ENV = "COURSE_DATA_MIRROR"
#: Environment variable naming the folder where verified data sets are cached.
CACHE_ENV = "COURSE_DATA_CACHE"


def _checkout() -> Path:
    """The folder this package lies in (the course repository, for an editable install)."""
    return Path(__file__).resolve().parent.parent


def default_mirror() -> Path:
    """The data mirror: ``$COURSE_DATA_MIRROR`` or ``../shared/data`` beside the repo."""
    configured = os.environ.get(MIRROR_ENV)
    if configured:
        return Path(configured).expanduser()
    return _checkout().parent / "shared" / "data"


def default_cache() -> Path:
    """The data cache: ``$COURSE_DATA_CACHE`` or ``$XDG_CACHE_HOME/mi-deep-learning``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mi-deep-learning"
