"""course_utils: data, seeding, plotting and grading helpers for the Week-1 deep-learning course."""
from __future__ import annotations

__version__ = "1.0.0"

from .data import Splits, banknote_splits, fetch_banknote, load_banknote
from .notebook_setup import setup
from .seeding import set_seed

__all__ = ["Splits", "banknote_splits", "fetch_banknote", "load_banknote", "set_seed", "setup", "__version__"]
