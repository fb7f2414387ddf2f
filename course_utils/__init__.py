"""course_utils: the student runtime of the Week-1 deep-learning notebooks.

Data (fetch, verify, cache, split), seeding, plotting, the checks the visible tests use, the
kernel set-up, the student's exam variant and a pre-submit :func:`check`. It needs NumPy and
Matplotlib (torch and Keras where the notebooks use them) and never imports the grader.
"""
from __future__ import annotations

__version__ = "1.0.0"

from .data import Splits, banknote_splits, fetch_banknote, load_banknote
from .notebook_setup import setup
from .seeding import set_seed
from .self_check import check

__all__ = ["Splits", "banknote_splits", "check", "fetch_banknote", "load_banknote", "set_seed", "setup", "__version__"]
