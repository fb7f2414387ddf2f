"""`course grade --scheduler`: real `dask scheduler` and `dask worker` processes on 127.0.0.1."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_grader.cli import main
from course_grader.course import Course
from test_course_grade import ASSIGNMENT, build_course

pytestmark = [pytest.mark.slow, pytest.mark.dask_cluster,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]
DASK = str(Path(sys.executable).parent / "dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster():
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                   "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_grade_on_an_existing_dask_cluster(tmp_path: Path, dask_cluster: str, capsys) -> None:
    course = build_course(tmp_path / "course")
    started = time.monotonic()
    assert main(["grade", ASSIGNMENT, "--course", str(course.root), "--scheduler", dask_cluster,
                 "--students", "re*"]) == 0
    out = capsys.readouterr().out
    assert "1 graded" in out, out
    assert Course(course.root).scores(ASSIGNMENT, "reference")["demo"] == {"test_sig": 2.0}
    assert time.monotonic() - started < 120
