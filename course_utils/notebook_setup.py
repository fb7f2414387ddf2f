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
    # line="" leaves out the source line: a warning raised inside a hidden test must not quote it.
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line=""))


def route_warnings_to_stdout() -> None:
    """Print Python warnings and log records on stdout instead of stderr."""
    warnings.showwarning = _show_on_stdout
    logging.captureWarnings(False)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is sys.stderr:
            handler.setStream(sys.stdout)


def limit_torch_threads() -> None:
    """One torch thread (``$COURSE_TORCH_THREADS`` overrides) if torch is loaded.

    The course's networks are tiny: extra threads only add overhead, and parallel
    grading kernels would fight over the cores (an 80-epoch fit took 40 s instead of 4 s).
    """
    import os

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ.get("COURSE_TORCH_THREADS", "1")))


def cap_gpu_memory() -> None:
    """Cap this kernel's share of GPU memory (``$COURSE_CUDA_MEMORY_FRACTION``, set by ``course grade``)."""
    import os

    fraction = os.environ.get("COURSE_CUDA_MEMORY_FRACTION")
    torch = sys.modules.get("torch")
    if fraction and torch is not None and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(float(fraction))


def setup(seed: int | None = None) -> int:
    """Prepare a notebook kernel: warnings on stdout, torch on one thread, every generator seeded. Returns the seed."""
    from .seeding import set_seed

    route_warnings_to_stdout()
    limit_torch_threads()
    cap_gpu_memory()
    return set_seed(seed)
