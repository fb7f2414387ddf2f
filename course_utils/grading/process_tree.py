"""CPU time of a process and all its descendants, read from /proc (works across pid namespaces)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[1] = ppid; [11..14] = utime, stime, cutime, cstime
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICKS


def descendants_cpu_seconds(root: int) -> float:
    """User+system seconds of ``root`` and every live descendant (plus their reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(entry)
            if info:
                table[int(entry)] = info
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (the sandbox leader); bubblewrap takes the rest down."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
