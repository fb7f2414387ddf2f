"""Kernels forked from a kernel template (kernel_templates.py, template_process.py) are confined exactly
like plain sandboxed kernels, start with the assignment's libraries imported, share nothing with each
other or with the grader, and fall back to a plain kernel when the template fails."""
from __future__ import annotations

import json
import os
import shutil
import time

import nbformat
import pytest

from course_grader.grading import cgroups, kernel_templates, remote_execution, seccomp
from course_grader.grading.limits import Limits
from course_grader.grading.sandbox import sandbox_environment

pytestmark = [pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
              pytest.mark.skipif(cgroups.find_parent()[0] is None, reason="no writable cgroup here")]

SECRET = "tmpl-s3cret-token"
LIMITS = Limits(device="cpu", cell_wall_s=60)

PROBE = r'''
import ctypes, json, os, sys, threading, subprocess
report = {"numpy_preloaded": "numpy" in sys.modules}
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
for key in ("NoNewPrivs", "Seccomp", "CapEff", "CapPrm", "CapBnd", "Uid", "Gid", "Groups"):
    report[key] = status.get(key, "").split()
libc = ctypes.CDLL(None, use_errno=True)
report["escapes"] = [name for name, call in (
    ("ptrace", lambda: libc.ptrace(16, 1, 0, 0)), ("traceme", lambda: libc.ptrace(0, 0, 0, 0)),
    ("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
    ("unshare", lambda: libc.unshare(0x10000000)), ("setuid0", lambda: libc.setuid(0))) if call() == 0]
box = []
threading.Thread(target=box.append, args=(1,)).start()
pid = os.fork()
if pid == 0:
    os._exit(7)
report["fork"] = os.waitpid(pid, 0)[1] >> 8
report["subprocess"] = subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip()
environments = ["\n".join(f"{k}={v}" for k, v in os.environ.items())]
for path in ("/proc/self/environ", "/proc/1/environ"):
    try:
        environments.append(open(path, "rb").read().decode(errors="replace"))
    except OSError:
        pass
report["secret_seen"] = any("tmpl-s3cret" in text or "COURSE_TEST_SECRET" in text for text in environments)
report["home"], report["cwd"] = os.environ.get("HOME"), os.getcwd()
report["fd_targets"] = sorted({os.readlink(f"/proc/self/fd/{fd}").split(":")[0]
                               for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")})
commands = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            commands.append(open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode())
        except OSError:
            pass
report["processes"] = commands
report["hostname"] = os.uname().nodename
print("REPORT" + json.dumps(report))
'''


def _notebook(*sources: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(nb).encode()


def _run(files: dict[str, bytes], preload: list[str] | None, limits: Limits = LIMITS) -> dict:
    result = remote_execution.execute_notebook("n.ipynb", files, {}, limits, preload=preload)
    assert "infrastructure" not in result, result
    return result


def _report(result: dict) -> dict:
    nb = nbformat.reads(result["nb"], as_version=4)
    text = "".join(out.get("text", "") for cell in nb.cells for out in cell.outputs)
    assert "REPORT" in text, result
    return json.loads(text.split("REPORT", 1)[1].splitlines()[0])


@pytest.fixture(autouse=True)
def _fresh_templates(monkeypatch: pytest.MonkeyPatch):
    """A secret in the grader's environment before any template starts; no template outlives a test."""
    monkeypatch.setenv("COURSE_TEST_SECRET", SECRET)
    kernel_templates.close_all()
    kernel_templates._broken.clear()
    yield
    kernel_templates.close_all()
    kernel_templates._broken.clear()


def _template() -> kernel_templates.KernelTemplate:
    template = kernel_templates.template_for(["numpy"], sandbox_environment(LIMITS))
    assert template is not None
    return template


def test_a_forked_kernel_is_confined_exactly_like_a_plain_one() -> None:
    if not seccomp.supported():
        pytest.skip("no seccomp filter for this architecture")
    files = {"n.ipynb": _notebook(PROBE)}
    plain = _report(_run(files, None))
    forked = _report(_run(files, ["numpy"]))
    assert forked.pop("numpy_preloaded") is True, "the kernel did not come from the template"
    assert plain.pop("numpy_preloaded") is False
    assert forked["NoNewPrivs"] == ["1"] and forked["Seccomp"][0] == "2"
    assert int(forked["CapEff"][0], 16) == int(forked["CapPrm"][0], 16) == int(forked["CapBnd"][0], 16) == 0
    assert forked["escapes"] == [] and forked["fork"] == 7 and forked["subprocess"] == "child"
    assert forked["secret_seen"] is False
    if os.geteuid() == 0:
        assert forked["Uid"][0] != "0" and forked["Gid"][0] != "0", "a root grader's kernel runs as a sandbox uid"
    assert not any("course-template" in target or target.startswith("/tmp") for target in forked["fd_targets"])
    assert not any("template" in command or "course_grader" in command or "nbgrader" in command
                   for command in forked["processes"]), forked["processes"]
    # the sandbox's processes: bubblewrap and the kernel, plus (forked) the stub that waits for the kernel
    assert len(forked["processes"]) == len(plain["processes"]) + 1, (plain["processes"], forked["processes"])
    for report in (plain, forked):  # pids and uids differ from run to run; their kinds do not
        report["Uid"], report["Gid"] = len(set(report["Uid"])), len(set(report["Gid"]))
        del report["processes"]
    assert forked == plain


def test_kernels_of_one_template_share_nothing_and_get_fresh_random_state() -> None:
    template = _template()
    code = ("import numpy, random, os, sys\n"
            "print('LEFT', getattr(numpy, 'left_behind', None), os.environ.get('LEFT'), os.path.exists('/tmp/left'))\n"
            "numpy.left_behind = 1; os.environ['LEFT'] = '1'; open('/tmp/left', 'w').close()\n"
            "print('DRAW', numpy.random.randint(1 << 30), random.getrandbits(30))")
    outputs = []
    for _ in range(2):
        nb = nbformat.reads(_run({"n.ipynb": _notebook(code)}, ["numpy"])["nb"], as_version=4)
        outputs.append("".join(out.get("text", "") for out in nb.cells[0].outputs))
    assert all("LEFT None None False" in text for text in outputs), outputs
    draws = [text.split("DRAW", 1)[1] for text in outputs]
    assert draws[0] != draws[1], "two kernels of one template drew the same random numbers"
    assert template.alive() and kernel_templates.template_for(["numpy"], sandbox_environment(LIMITS)) is template


def test_a_forked_kernel_that_exits_is_reported_as_a_dead_kernel_at_once() -> None:
    _template()
    started = time.monotonic()
    result = _run({"n.ipynb": _notebook("import os\nos._exit(3)", "print('nev' + 'er ran')")}, ["numpy"])
    assert time.monotonic() - started < 30
    assert any("kernel died" in problem for problem in result["problems"]), result["problems"]
    assert "never ran" not in result["nb"]


def test_a_failing_template_falls_back_to_a_plain_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's child cannot confine itself (here: its seccomp filter is missing): the notebook is
    run again in a plain kernel, and this process uses plain kernels for that template from then on."""
    original = kernel_templates.KernelTemplate.fork
    tries = []

    def broken(self, request: dict) -> int:
        tries.append(request)
        return original(self, {**request, "seccomp": "/nonexistent/filter.bpf"})

    monkeypatch.setattr(kernel_templates.KernelTemplate, "fork", broken)
    result = _run({"n.ipynb": _notebook("import sys\nprint('ran', 'numpy' in sys.modules)")}, ["numpy"])
    assert "ran False" in result["nb"] and not result["problems"], result
    assert len(tries) == 1
    assert kernel_templates.template_for(["numpy"], sandbox_environment(LIMITS)) is None
    assert "ran False" in _run({"n.ipynb": _notebook("import sys\nprint('ran', 'numpy' in sys.modules)")},
                               ["numpy"])["nb"]
    assert len(tries) == 1, "a broken template is not tried again"


def test_the_limits_switch_turns_templates_off() -> None:
    result = _run({"n.ipynb": _notebook("import sys\nprint('ran', 'numpy' in sys.modules)")}, ["numpy"],
                  Limits(device="cpu", cell_wall_s=60, kernel_template=False))
    assert "ran False" in result["nb"]
    assert not kernel_templates._templates


def test_preload_modules_are_the_reference_solutions_installed_imports(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np\nfrom os import path\n"
                                          "import not_a_real_module_xyz\nfrom . import local"),
                nbformat.v4.new_code_cell("import numpy.linalg\nx = ("),  # a syntax error: ignored
                nbformat.v4.new_markdown_cell("import torch")]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    assert kernel_templates.preload_modules(tmp_path) == ["numpy", "os"]
