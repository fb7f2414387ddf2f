"""Shared fixtures: the repository root and a verified copy of the banknote data."""
from __future__ import annotations

from pathlib import Path

import pytest

from course_utils import data
from course_utils.paths import repo_root

ROOT = repo_root()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def banknote_csv() -> Path:
    """The cached, verified data set (the test command fetches it before pytest starts)."""
    return data.fetch_banknote()
