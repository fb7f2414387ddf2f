"""CPU time and killing of a sandbox's process tree (psutil; works across pid namespaces)."""
from __future__ import annotations

import os
import signal

import psutil


def descendants_cpu_seconds(root: int) -> float:
    """User+system seconds of ``root`` and every live descendant (plus their reaped children)."""
    try:
        procs = [psutil.Process(root)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:  # exited while we looked
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (the sandbox leader); bubblewrap takes the rest down."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
