"""Grading processes end without collecting their garbage one last time.

At exit the interpreter runs its garbage collector over every object still alive. In a grading worker
that imported Keras and torch for the checks that is about 2 s of CPU, and the cluster's close waits
for it; in the ``course`` command about 0.3 s. Frozen objects are skipped by the collector; every exit
handler still runs and every file is still flushed and closed.
"""
from __future__ import annotations

import atexit
import gc
import threading

_registered = threading.Lock()


def skip_final_collection() -> None:
    """Freeze this process's objects when it exits (registered once; exit handlers run newest first)."""
    if _registered.acquire(blocking=False):
        atexit.register(gc.freeze)
