"""The watchdog's view of a sandbox: CPU time of a whole process tree, and killing it."""
from __future__ import annotations

import subprocess
import sys
import time

from course_grader.grading.process_tree import descendants_cpu_seconds, kill_group

BURN_CHILD = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'while True: pass'])"


def test_cpu_of_grandchildren_counts_and_the_group_dies() -> None:
    proc = subprocess.Popen([sys.executable, "-c", BURN_CHILD], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while descendants_cpu_seconds(proc.pid) < 0.5:  # the grandchild burns, the child only waits
            assert time.monotonic() < deadline, "the grandchild's CPU time is not counted"
            time.sleep(0.1)
    finally:
        kill_group(proc.pid)
    assert proc.wait(timeout=10) != 0
    assert descendants_cpu_seconds(proc.pid) == 0.0, "a reaped process has no tree"
    kill_group(proc.pid)  # killing what is gone is harmless


def test_unknown_pid_is_zero() -> None:
    assert descendants_cpu_seconds(2**22 + 12345) == 0.0
