"""Kernel set-up shared by every course notebook (the locked first code cell calls it).

nbgrader gives 0 points to a test cell that writes anything to stderr, so library
warnings (Keras's ``input_shape`` notice, torch user warnings) are shown on stdout
instead: students still see them, and they can never cost a point.
"""
from __future__ import annotations

import logging
import sys
import warnings
from typing import TextIO


def _show_on_stdout(message, category, filename, lineno, file: TextIO | None = None, line=None) -> None:
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


def route_warnings_to_stdout() -> None:
    """Print Python warnings and log records on stdout instead of stderr."""
    warnings.showwarning = _show_on_stdout
    logging.captureWarnings(False)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is sys.stderr:
            handler.setStream(sys.stdout)


def setup(seed: int | None = None) -> int:
    """Prepare a notebook kernel: warnings on stdout, every generator seeded. Returns the seed."""
    from .seeding import set_seed

    route_warnings_to_stdout()
    return set_seed(seed)
