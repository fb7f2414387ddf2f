"""Per-sandbox caps: one cgroup per sandbox (memory, processes, CPU of all its processes together),
and a sandbox that refuses to grade where the host cannot give that guarantee, unless opted in."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from course_grader.grading import cgroups, remote_execution, sandbox
from course_grader.grading.limits import Limits

MiB = 2**20
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
needs_cgroups = pytest.mark.skipif(cgroups.find_parent()[0] is None, reason="no writable cgroup here")

HOGS = """
import os, time
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(300 * 2**20)  # written, so resident
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print(" ".join(str(os.waitpid(k, 0)[1] & 0x7f) for k in kids))
"""


def _sandbox(tmp_path: Path, limits: Limits, cgroup=None) -> sandbox.Sandbox:
    submission, sockets = tmp_path / "submission", tmp_path / "sockets"
    submission.mkdir(exist_ok=True)
    sockets.mkdir(exist_ok=True)
    return sandbox.Sandbox(submission, sockets, limits, cgroup=cgroup)


@needs_bwrap
@needs_cgroups
def test_forked_children_share_one_memory_cap(tmp_path: Path) -> None:
    """Three children of 300 MiB each under a 512 MiB sandbox cap: not all of them can live (RLIMIT_AS
    alone, per process, would let all three)."""
    limits = Limits(device="cpu", sandbox_memory_bytes=512 * MiB)
    cgroup, why = cgroups.sandbox_cgroup(limits.sandbox_memory_bytes, limits.processes)
    assert cgroup is not None, why
    try:
        box = _sandbox(tmp_path, limits, cgroup)
        done = subprocess.run(box.command(["python3", "-c", HOGS]), capture_output=True, text=True, timeout=120)
        signals = done.stdout.split()
        assert done.returncode == 0, done.stderr[-2000:]
        assert "9" in signals and len(signals) == 3, done.stdout  # at least one SIGKILLed by the cap
        assert cgroup.oom_killed()
        assert (cgroup.cpu_seconds() or 0) > 0
    finally:
        cgroup.close()
    assert not any(folder.exists() for folder in cgroup.parent.dirs.values() for folder in folder.glob("sandbox-*-*")
                   if folder.name.startswith(f"sandbox-{os.getpid()}-"))


@needs_bwrap
def test_dev_is_read_only_and_dev_shm_still_works(tmp_path: Path) -> None:
    box = _sandbox(tmp_path, Limits(device="cpu"))
    done = subprocess.run(box.command(["/bin/sh", "-c", "touch /dev/filler || echo refused; echo x > /dev/null; "
                                                        "touch /dev/shm/ok && echo shm"]),
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["refused", "shm"], done.stdout + done.stderr


def _notebook(code: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    return nbformat.writes(nb).encode()


@needs_bwrap
def test_a_host_without_cgroups_refuses_unless_the_instructor_opts_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "find_parent", lambda: (None, "no writable cgroup v1 memory controller"))
    files = {"n.ipynb": _notebook("print('student code ran')")}
    refused = remote_execution.execute_notebook("n.ipynb", files, {}, Limits(device="cpu", cell_wall_s=60))
    assert "nb" not in refused, "no student code may run in the weaker sandbox without the opt-in"
    assert "memory is capped per process" in refused["infrastructure"]
    assert "allow_weaker_sandbox" in refused["infrastructure"]
    allowed = remote_execution.execute_notebook("n.ipynb", files, {},
                                                Limits(device="cpu", cell_wall_s=60, allow_weaker_sandbox=True))
    assert "student code ran" in allowed["nb"], allowed


@needs_bwrap
@needs_cgroups
def test_a_kernel_over_the_sandbox_memory_cap_is_the_students_zero_with_the_reason() -> None:
    files = {"n.ipynb": _notebook("block = bytearray(900 * 2**20)\nprint('sur' + 'vived')")}
    result = remote_execution.execute_notebook("n.ipynb", files, {},
                                               Limits(device="cpu", cell_wall_s=60, sandbox_memory_bytes=512 * MiB))
    assert "infrastructure" not in result, result
    assert any("512 MiB of memory" in p for p in result["problems"]), result["problems"]
    assert "survived" not in result["nb"]


def test_cgroup_v2_limits_and_readings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The v2 paths (this machine has v1) against a stand-in cgroup file system."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    monkeypatch.setattr(cgroups, "FS", tmp_path)
    monkeypatch.delenv("COURSE_CGROUP_PARENT", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    parent, why = cgroups.find_parent()
    assert parent is not None, why
    assert parent.version == 2 and set(parent.dirs.values()) == {tmp_path / "course-grade"}
    assert set((tmp_path / "cgroup.subtree_control").read_text().split()) == {"+cpu", "+memory", "+pids"}
    group = cgroups.SandboxCgroup(parent, 256 * MiB, 32)
    (folder,) = set(group.dirs.values())
    assert (folder / "memory.max").read_text() == str(256 * MiB)
    assert (folder / "pids.max").read_text() == "32"
    assert not group.oom_killed()
    (folder / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (folder / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert group.oom_killed() and group.cpu_seconds() == 2.5
    assert group.enter_command()[:2] == ["/bin/sh", "-c"] and str(folder / "cgroup.procs") in group.enter_command()[2]


def test_an_ordinary_user_on_cgroup_v2_is_told_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    monkeypatch.setattr(cgroups, "FS", tmp_path)
    monkeypatch.delenv("COURSE_CGROUP_PARENT", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    parent, why = cgroups.find_parent()
    assert parent is None and "COURSE_CGROUP_PARENT" in why


FILL_SOCKETS = """
import os, sys
os.chdir(os.environ['SOCKETS'])
for i in range(2500):  # a chain deeper than Python's recursion limit (and than PATH_MAX)
    os.mkdir('d')
    os.chdir('d')
os.chdir(os.path.expanduser('~'))
written = 0
try:
    for i in range(40):  # 40 files of 16 MiB: far past the sandbox's memory cap
        with open(os.path.join(os.environ['SOCKETS'], f'f{i}'), 'wb') as fh:
            fh.write(os.urandom(16 * 2**20))
        written += 16
finally:
    print('written', written, flush=True)
"""


@needs_bwrap
@needs_cgroups
def test_the_socket_folder_is_capped_and_always_cleaned_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one host folder the sandbox can write to lies on a tmpfs charged to the sandbox's memory cgroup."""
    parent = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="course-test-"))  # this test's own: others run beside it
    monkeypatch.setattr(remote_execution, "SOCKET_PARENT", parent)
    code = "import os\nos.environ['SOCKETS'] = os.path.dirname(__import__('ipykernel').connect.get_connection_file())\n"
    files = {"n.ipynb": _notebook(code + FILL_SOCKETS)}
    result = remote_execution.execute_notebook("n.ipynb", files, {},
                                               Limits(device="cpu", cell_wall_s=120, sandbox_memory_bytes=256 * MiB))
    assert "infrastructure" not in result, result
    outputs = [o for c in nbformat.reads(result["nb"], as_version=4).cells for o in c.outputs]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    errors = " ".join(o.get("ename", "") for o in outputs if o.output_type == "error")
    if os.geteuid() == 0:  # as root the folder is closed to the kernel once its sockets exist
        assert "PermissionError" in errors, (printed, errors, result["problems"])
    else:  # unprivileged: what it writes there is memory charged to its cgroup
        capped = any("256 MiB of memory" in p for p in result["problems"])
        assert capped or (printed.startswith("written ") and int(printed.split()[1]) < 256), (printed, result["problems"])
    assert list(parent.iterdir()) == [], "removed, chain and all"
    parent.rmdir()


def test_clean_up_never_raises(tmp_path: Path) -> None:
    deep = tmp_path / "x"
    deep.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(deep)
        for _ in range(3000):  # deeper than PATH_MAX and Python's recursion limit
            os.mkdir("d")
            os.chdir("d")
    finally:
        os.chdir(cwd)
    remote_execution.remove_tree(deep)
    assert not deep.exists()


@needs_bwrap
def test_every_kind_of_output_counts_against_the_cap() -> None:
    """Display updates and a huge exception were not counted: now the notebook stays small."""
    code = ("from IPython.display import display, HTML\n"
            "handle = display(HTML('start'), display_id=True)\n"
            "for i in range(300):\n    handle.display(HTML('s'))\n"  # 300 small outputs of one display...
            "handle.update(HTML('x' * 100_000))\n")  # ...each rewritten to 100 kB by one update
    boom = "raise ValueError('y' * 20_000_000)"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(boom)]
    limits = Limits(device="cpu", cell_wall_s=60, output_bytes=2 * MiB, allow_weaker_sandbox=True)
    result = remote_execution.execute_notebook("n.ipynb", {"n.ipynb": nbformat.writes(nb).encode()}, {}, limits)
    assert len(result["nb"]) < 3 * MiB, len(result["nb"])
    assert any("output cut" in p for p in result["problems"]), result["problems"]
    cells = nbformat.reads(result["nb"], as_version=4).cells
    (error,) = [o for o in cells[1].outputs if o.output_type == "error"]
    assert error.ename == "ValueError" and "cut by the grader" in error.evalue


@needs_bwrap
def test_a_live_plot_loop_that_clears_its_output_is_never_cut() -> None:
    """Honest code: 400 frames of 40 kB, each replacing the last (clear_output, or one display updated)."""
    code = ("from IPython.display import display, clear_output, HTML\n"
            "for i in range(400):\n    clear_output(wait=True)\n    display(HTML(str(i) * 40_000))\n"
            "handle = display(HTML('0'), display_id=True)\n"
            "for i in range(400):\n    handle.update(HTML(str(i) * 40_000))\n"
            "print('done')")
    limits = Limits(device="cpu", cell_wall_s=60, output_bytes=2 * MiB, allow_weaker_sandbox=True)
    result = remote_execution.execute_notebook("n.ipynb", {"n.ipynb": _notebook(code)}, {}, limits)
    assert result["problems"] == [], result["problems"]
    assert "done" in result["nb"]


@needs_bwrap
def test_the_interrupt_of_a_cut_never_reaches_the_next_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell whose last statement overflows the output cap ends before its interrupt goes out; the
    interrupt is cancelled then, and the next cell (here delayed into its run on purpose) keeps its result."""
    import asyncio

    from course_grader.grading.sandboxed_kernel import SandboxedKernelManager

    original = SandboxedKernelManager.interrupt_kernel

    async def late(self) -> None:  # an event loop busy elsewhere: the interrupt leaves 1 s after the cut
        await asyncio.sleep(1.0)
        await original(self)

    monkeypatch.setattr(SandboxedKernelManager, "interrupt_kernel", late)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("print('z' * 3_000_000)"),
                nbformat.v4.new_code_cell("import time\ntime.sleep(3)\nprint('second' + ' cell done')")]
    limits = Limits(device="cpu", cell_wall_s=60, output_bytes=2 * MiB, allow_weaker_sandbox=True)
    result = remote_execution.execute_notebook("n.ipynb", {"n.ipynb": nbformat.writes(nb).encode()}, {}, limits)
    cells = nbformat.reads(result["nb"], as_version=4).cells
    assert any("output cut" in p for p in result["problems"]), result["problems"]
    assert not any(out.output_type == "error" for out in cells[1].outputs), cells[1].outputs
    assert "second cell done" in "".join(out.get("text", "") for out in cells[1].outputs)
