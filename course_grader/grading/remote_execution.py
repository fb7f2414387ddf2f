"""Runs on a Dask worker: execute one student's sanitized notebooks, each in a fresh sandbox.

The executor *is* nbgrader's ``Execute`` preprocessor (same config: timeout, kernel,
extra arguments, allow_errors, error_on_timeout...), only its kernel manager starts the kernel
in a :class:`~.sandbox.Sandbox` and a watchdog enforces the CPU, wall-clock and output limits.
Whatever the student's code does -- timeout, kernel death, limit hit -- the task returns a
notebook in which every cell that did not run to completion carries an error output that
says why, so nbgrader scores it 0 (fail closed) and the student reads the reason. A failure
before any student code ran (bubblewrap missing or failing, a kernel that cannot start or dies
in the instructor's set-up) is the grading machinery's: the task returns no notebook but
``infrastructure``, the reason, and the caller must not store a grade.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbclient.util import run_sync
from traitlets.config import Config

from . import seccomp
from ..process_exit import skip_final_collection
from .cgroups import SandboxCgroup, sandbox_cgroup
from .grader_checks import MACHINERY_ERRORS
from .limits import Limits
from .process_tree import descendants_cpu_seconds, kill_group
from .kernel_templates import KernelTemplate, give_up, template_for
from .sandbox import (Sandbox, SandboxUnavailable, UidLease, check_tools, sandbox_environment, shortfalls,
                      weaker_sandbox_message)
from .sandboxed_kernel import SandboxedKernelManager

SOCKET_PARENT = Path(os.environ.get("COURSE_SOCKET_PARENT", "/dev/shm"))
LIMIT_ENAME = "GradingLimitExceeded"
CUT_NOTICE = "[grader] output cut: the notebook's output passed the grader's limit; the cell was interrupted"
NOT_RUN_ENAME = "NotExecuted"


COUNTED_MESSAGES = {"stream", "display_data", "update_display_data", "execute_result", "error"}
ERROR_BYTES = 64 * 1024  # the most of one error message (name, value and traceback) that is kept


def message_bytes(value: Any) -> int:
    """Characters in the strings of a message's content (its size as the notebook will store it)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(message_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(message_bytes(v) for v in value)
    return 8


def shrink_error(content: dict) -> None:
    """Cut an error's value and traceback so the whole error stays under ERROR_BYTES."""
    note = " [... cut by the grader]"
    content["ename"] = str(content.get("ename", ""))[:200]
    evalue = str(content.get("evalue", ""))
    if len(evalue) > ERROR_BYTES // 4:
        content["evalue"] = evalue[: ERROR_BYTES // 4] + note
    lines, kept = [str(line) for line in content.get("traceback") or []], []
    budget = ERROR_BYTES - message_bytes(content.get("evalue")) - len(str(content.get("ename", "")))
    for line in lines[-50:]:  # the end of a traceback says where it failed
        line = line if len(line) <= budget // 8 else line[: budget // 8] + note
        kept.append(line)
    while kept and sum(map(len, kept)) > max(budget, 0):
        kept.pop(0)
    if "traceback" in content:
        content["traceback"] = kept


def disarm_error(content: dict) -> None:
    """An error the notebook raised: cut to ERROR_BYTES, and renamed if it wears a grader error's name."""
    shrink_error(content)
    if content.get("ename") in MACHINERY_ERRORS:
        content["ename"] = f"{content['ename']} (raised by the notebook)"


def error_output(ename: str, message: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def mark_failure(nb: NotebookNode, index: int | None, message: str) -> None:
    """Cell ``index`` failed with ``message``; every later code cell did not run (fail closed)."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if index is None or index not in code:
        index = code[0] if code else None
    if index is None:
        return
    nb.cells[index].setdefault("outputs", []).append(error_output(LIMIT_ENAME, message))
    label = cell_label(nb.cells[index], index)
    for i in code:
        if i > index:
            nb.cells[i].outputs = [error_output(NOT_RUN_ENAME, f"not executed: the notebook stopped at {label} ({message})")]
            nb.cells[i].execution_count = None


def cell_label(cell: NotebookNode, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell '{grade_id}'" if grade_id else f"cell #{index}"


def _make_executor(execute_config: dict, limits: Limits, sandbox: Sandbox, template: KernelTemplate | None = None,
                   reference: bool = False):
    from nbgrader.preprocessors import Execute

    from .checked_execute import GradeOutsideKernel
    from .grader_checks import is_instructor_cell

    class SandboxedExecute(GradeOutsideKernel, Execute):
        """nbgrader's Execute, with the kernel in the sandbox, limits watched, test cells judged outside."""

        reference_run = reference

        def create_kernel_manager(self):
            km = super().create_kernel_manager()
            km.attach_sandbox(sandbox)
            km.template = template
            return km

        async def async_start_new_kernel_client(self):
            """Once the kernel has made its sockets, its socket folder is closed to it (as root: the
            folder goes back to root), so it is the one writable host folder no more."""
            client = await super().async_start_new_kernel_client()
            if sandbox.uid is not None:
                os.chown(sandbox.socket_dir, 0, 0)
                os.chmod(sandbox.socket_dir, 0o755)
            return client

        start_new_kernel_client = run_sync(async_start_new_kernel_client)  # nbclient binds the base one

        def preprocess(self, nb, resources=None, km=None):
            self.current_index: int | None = None
            self.cell_started = self.cell_cpu_start = 0.0
            self.cell_seconds = 0.0  # wall time of the code cells (the notebook's own cost, for benchmarks)
            self.notebook_started = time.monotonic()
            self.stop_reason: str | None = None
            self.student_code_started = False
            self.output_bytes = self.traffic_bytes = 0
            self.cut_cells: set[int] = set()
            self._interrupted = False
            self._interrupt = None  # the interrupt a cut sent (a task of the kernel client's event loop)
            self._done = threading.Event()
            watchdog = threading.Thread(target=self._watch, daemon=True)
            watchdog.start()
            try:
                return super().preprocess(nb, resources, km)
            finally:
                self._done.set()
                watchdog.join(timeout=5)

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code" and not is_instructor_cell(cell):
                self.student_code_started = True
            if cell.cell_type == "code":
                self.cell_cpu_start = self._cpu()
                self.cell_started = time.monotonic()
                self.current_index = index
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            finally:
                if cell.cell_type == "code":
                    self.cell_seconds += time.monotonic() - self.cell_started
            if self._interrupt is not None and not self._interrupt.done():
                # the cell ended before its cut's interrupt went out: sent later, it would hit the next cell
                self._interrupt.cancel()
                self._interrupted = False
            self._interrupt = None
            if index in self.cut_cells:
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=f"\n{CUT_NOTICE}\n"))
            if cell.cell_type == "code":
                for out in cell.outputs:
                    if out.output_type == "error" and out.get("ename") == "CellTimeoutError":
                        msg = f"{cell_label(cell, index)} ran out of time after {self.timeout} s (wall clock)"
                        out.evalue, out.traceback = msg, [f"CellTimeoutError: {msg}"]
            self.current_index = None
            return cell, resources

        def process_message(self, msg, cell, cell_index):
            """Every output message counts against the notebook's output budget, whatever its type."""
            msg_type = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
            if msg_type not in COUNTED_MESSAGES:
                return super().process_message(msg, cell, cell_index)
            content = msg.get("content") or {}
            if msg_type == "error":  # kept (it fails the cell), but cut, and never in the grader's name
                disarm_error(content)
            size = message_bytes(content)
            display_id = (content.get("transient") or {}).get("display_id")
            if display_id:  # the message rewrites every earlier output of that display: each one holds it
                earlier = sum(len(v) for v in self._display_id_map.get(display_id, {}).values())
                size *= earlier + (msg_type != "update_display_data")
            self.traffic_bytes += size
            if self.traffic_bytes > limits.output_hard_bytes and self.stop_reason is None:
                self._stop(f"{self._label()} produced more than {limits.output_hard_bytes} bytes of output")
            self.output_bytes += size  # an upper bound of what the notebook holds...
            if self.output_bytes > limits.output_bytes:  # ...so measure it (cleared or replaced outputs are gone)
                self.output_bytes = self._stored_bytes() + size
            if self.output_bytes > limits.output_bytes and msg_type != "error":
                self.cut_cells.add(cell_index)
                if not self._interrupted and self.km is not None:
                    self._interrupted = True
                    import asyncio
                    self._interrupt = asyncio.ensure_future(self.km.interrupt_kernel())
                if "execution_count" in content:
                    cell["execution_count"] = content["execution_count"]
                return None  # dropped: not kept, not used to update an earlier display
            return super().process_message(msg, cell, cell_index)

        def on_cell_executed(self, **kwargs):
            """The kernel's execute_reply repeats the error: the same renaming and cut apply to it (a reply
            nbclient made up itself for a timeout has no header and is the grader's own)."""
            reply = kwargs.get("execute_reply") or {}
            content = reply.get("content") or {}
            if "header" in reply and content.get("status") == "error":
                disarm_error(content)
            return super().on_cell_executed(**kwargs)

        def _stored_bytes(self) -> int:
            return sum(message_bytes(out) for c in self.nb.cells for out in c.get("outputs", []))

        # -- watchdog ---------------------------------------------------------------
        def _pid(self) -> int | None:
            return getattr(self.km, "kernel_pid", None) if self.km is not None else None

        def _cpu(self) -> float:
            whole = sandbox.cgroup.cpu_seconds() if sandbox.cgroup is not None else None
            if whole is not None:  # every process the sandbox ran, detached and reaped ones too
                return whole
            pids = [self._pid(), getattr(self.km, "template_pid", None)]  # a forked kernel is not under bubblewrap
            return sum(descendants_cpu_seconds(pid) for pid in pids if pid)

        def _label(self) -> str:
            i = self.current_index
            return cell_label(self.nb.cells[i], i) if i is not None else "the notebook"

        def _stop(self, reason: str) -> None:
            self.stop_reason = reason
            pid = self._pid()
            if pid:
                kill_group(pid)
            if sandbox.cgroup is not None:
                sandbox.cgroup.kill()

        def _watch(self) -> None:
            while not self._done.wait(0.25):
                if self.stop_reason:
                    continue
                now = time.monotonic()
                cpu = self._cpu()
                if now - self.notebook_started > limits.notebook_wall_s:
                    self._stop(f"the notebook ran out of time after {limits.notebook_wall_s:g} s "
                               f"(wall clock, stopped in {self._label()})")
                elif cpu > limits.notebook_cpu_s:
                    self._stop(f"the notebook used more than {limits.notebook_cpu_s:g} s of CPU time "
                               f"(stopped in {self._label()})")
                elif self.current_index is not None and cpu - self.cell_cpu_start > limits.cell_cpu_s:
                    self._stop(f"{self._label()} used more than {limits.cell_cpu_s:g} s of CPU time")
                elif (self.current_index is not None and limits.cell_wall_s
                      and now - self.cell_started > limits.cell_wall_s + 30):
                    # the per-cell timeout interrupts the kernel; this is the fallback if it ignores it
                    self._stop(f"{self._label()} ran out of time after {limits.cell_wall_s:g} s "
                               "and could not be interrupted")

    cfg = Config(execute_config)
    return SandboxedExecute(config=cfg, kernel_manager_class=SandboxedKernelManager)


def confinement(limits: Limits) -> SandboxCgroup | None:
    """The cgroup of a new sandbox (None where the host has none and the instructor accepts that).

    Raises :class:`SandboxUnavailable` when bubblewrap is missing or a guarantee cannot be given.
    """
    check_tools()
    cgroup, why = sandbox_cgroup(limits.sandbox_memory_bytes, limits.processes)
    missing = shortfalls(cgroup, why)
    if missing and not limits.allow_weaker_sandbox:
        if cgroup is not None:
            cgroup.close()
        raise SandboxUnavailable(weaker_sandbox_message(missing))
    return cgroup


def _write_tree(files: dict[str, bytes], target: Path) -> None:
    target.mkdir(mode=0o755)
    for rel, data in files.items():
        path = (target / rel).resolve()
        if target.resolve() not in path.parents:
            continue  # never write outside the folder
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        path.write_bytes(data)
        path.chmod(0o644)


def execute_notebook(nb_name: str, files: dict[str, bytes], execute_config: dict, limits: Limits,
                     data_cache: str | None = None, preload: list[str] | None = None,
                     reference: bool = False) -> dict[str, Any]:
    """Execute ``files[nb_name]`` in a fresh sandbox whose home holds ``files``.

    ``preload``: the modules of the kernel template to fork the kernel from (None: a plain kernel).
    ``reference``: the notebook is the instructor's reference solution (the pre-flight), not a submission.
    If the template fails before any student code ran, the notebook runs again in a plain kernel.
    Returns ``{"nb", "problems", "seconds", "cell_seconds"}``, or ``{"infrastructure": reason, "seconds"}``
    when the machinery failed before any student code ran.
    """
    template = None
    if preload is not None and limits.kernel_template:
        template = template_for(preload, sandbox_environment(limits))
    result = _execute_once(nb_name, files, execute_config, limits, data_cache, template, reference)
    if template is not None and result.get("template_failed"):
        give_up(template)
        result = _execute_once(nb_name, files, execute_config, limits, data_cache, None, reference)
    result.pop("template_failed", None)
    return result


def _execute_once(nb_name: str, files: dict[str, bytes], execute_config: dict, limits: Limits,
                  data_cache: str | None, template: KernelTemplate | None, reference: bool) -> dict[str, Any]:
    started = time.monotonic()
    nb = nbformat.reads(files[nb_name].decode("utf-8"), as_version=4)
    problems: list[str] = []
    lease = UidLease()
    work = Path(tempfile.mkdtemp(prefix="course-grade-"))
    # the kernel's sockets live on the host's /dev/shm (a tmpfs): whatever the sandbox writes there is memory
    # charged to its own cgroup, so the sandbox's memory cap is this folder's size cap too
    sockets = Path(tempfile.mkdtemp(prefix="course-grade-ipc-", dir=SOCKET_PARENT if SOCKET_PARENT.is_dir() else None))
    executor = None
    cgroup: SandboxCgroup | None = None
    try:
        cgroup = confinement(limits)
        work.chmod(0o755)
        _write_tree(files, work / "submission")
        sockets.chmod(0o700)
        if lease.uid is not None:
            os.chown(sockets, lease.uid, lease.uid)
        sandbox = Sandbox(work / "submission", sockets, limits, Path(data_cache) if data_cache else None, lease.uid,
                          cgroup=cgroup, seccomp_filter=seccomp.write_filter(work / "seccomp.bpf"))
        executor = _make_executor(execute_config, limits, sandbox, template, reference)
        try:
            executor.preprocess(nb, {"metadata": {"path": str(work / "submission")}})
        except Exception as exc:  # kernel death, limit, sandbox failure: fail closed
            if not executor.student_code_started:
                raise
            reason = executor.stop_reason or _describe(exc, executor, cgroup, limits)
            mark_failure(nb, executor.current_index, reason)
            problems.append(reason)
        else:
            if executor.stop_reason:  # killed after the last cell finished
                problems.append(executor.stop_reason)
        if executor.cut_cells:
            problems.append(f"output cut at {limits.output_bytes} bytes in "
                            + ", ".join(cell_label(nb.cells[i], i) for i in sorted(executor.cut_cells)))
    except Exception as exc:  # before any student code ran: the grading machinery failed
        return {"infrastructure": infrastructure_reason(exc, executor), "seconds": time.monotonic() - started,
                "template_failed": template is not None}
    finally:
        if cgroup is not None:
            cgroup.close()
        lease.close()
        remove_tree(work)
        remove_tree(sockets)
    cut = sorted(executor.cut_cells) if executor is not None else []
    return {"nb": nbformat.writes(nb), "problems": problems, "cut_cells": cut, "seconds": time.monotonic() - started,
            "cell_seconds": round(executor.cell_seconds, 3)}


def remove_tree(path: Path) -> None:
    """Delete a folder however deep, big or odd the sandbox made it; never raises."""
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True, timeout=300)
    except Exception:  # noqa: BLE001 - clean-up must not turn into a grading failure
        pass
    try:
        shutil.rmtree(path, ignore_errors=True)
    except Exception:  # noqa: BLE001 - e.g. RecursionError on a 2,500-deep chain
        pass


def infrastructure_reason(exc: BaseException, executor=None) -> str:
    where = ""
    if executor is not None and getattr(executor, "current_index", None) is not None:
        where = f" in the instructor's {executor._label()}"
    return f"the sandboxed kernel could not run{where}: {type(exc).__name__}: {str(exc)[:1000]}"


def _describe(exc: Exception, executor, cgroup: SandboxCgroup | None, limits: Limits) -> str:
    name = type(exc).__name__
    where = executor._label() if executor.current_index is not None else "the notebook"
    if name == "DeadKernelError" and cgroup is not None and cgroup.oom_killed():
        return (f"the kernel was killed while running {where}: the notebook's processes together used more "
                f"than {limits.sandbox_memory_bytes // 2**20} MiB of memory")
    if name == "DeadKernelError":
        code = getattr(getattr(getattr(executor.km, "provisioner", None), "process", None), "returncode", None)
        detail = f", exit status {code}" if code else ""
        return (f"the kernel died while running {where}{detail} (os._exit, a crash, "
                "or the memory/process/file limits)")
    return f"{where} could not be executed: {name}: {exc}"


def warm_template(preload: list[str], limits: dict[str, Any]) -> None:
    """Start this worker's kernel template now (its imports run while the coordinator prepares the run)."""
    skip_final_collection()
    settings = Limits.from_mapping(limits)
    if settings.kernel_template:
        template_for(preload, sandbox_environment(settings))


def execute_submission(payload: dict[str, Any]) -> dict[str, Any]:
    """The Dask task: every notebook of one submission, one sandbox each."""
    started = time.monotonic()
    skip_final_collection()
    limits = Limits.from_mapping(payload["limits"])
    files: dict[str, bytes] = payload["files"]
    results = {}
    for name in payload["notebooks"]:
        try:
            results[name] = execute_notebook(f"{name}.ipynb", files, payload["execute_config"], limits,
                                             payload.get("data_cache"), payload.get("preload"),
                                             bool(payload.get("reference")))
        except Exception as exc:  # noqa: BLE001 - the task itself never fails (its error might not even pickle)
            results[name] = {"infrastructure": f"the grading worker failed: {type(exc).__name__}: {str(exc)[:300]}",
                             "seconds": 0.0}
    return {"student": payload["student"], "notebooks": results, "host": socket.gethostname(),
            "seconds": time.monotonic() - started}
