"""A jupyter_client kernel manager whose kernel starts inside a :class:`~.sandbox.Sandbox`.

The kernel talks to the grader over unix sockets (``transport='ipc'``) in a folder bound into
the sandbox: the sandbox has no network at all, not even the host's loopback.
Interrupts are sent as messages (a signal to the process group would hit bubblewrap).

With a :class:`~.kernel_templates.KernelTemplate`, the sandbox is built the same way but runs a stub,
and the kernel is forked from the template into it (its libraries already imported).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from .kernel_templates import KernelTemplate, stub_command, wait_for_stub
from .sandbox import HOME, Sandbox


class ReadyKernelClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel answered ``kernel_info`` and IOPub is connected.

    The stock client then waits for 0.2 s of silence on IOPub to drop what is left there, an idle wait in
    every notebook; nbclient skips IOPub messages of other requests anyway, so they are dropped at once.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if reply["msg_type"] == "kernel_info_reply":
                    try:  # its busy/idle status proves IOPub is subscribed (messages before that are lost)
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what IOPub holds already, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break


class SandboxedKernelManager(AsyncKernelManager):
    client_factory = Type(ReadyKernelClient, klass=AsyncKernelClient)
    sandbox: Sandbox | None = None
    template: KernelTemplate | None = None
    template_pid: int | None = None  # the forked kernel (on this host), when it came from the template

    def attach_sandbox(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.transport = "ipc"
        self.ip = str(Path(sandbox.socket_dir) / "kernel")
        self.connection_file = str(Path(sandbox.socket_dir) / "kernel.json")

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.sandbox is None:
            raise RuntimeError("SandboxedKernelManager: no sandbox attached, refusing to start a kernel")
        self.kernel_spec.interrupt_mode = "message"
        kw.pop("cwd", None)  # the kernel's cwd is the sandbox home, set by bubblewrap
        kw.setdefault("stdin", subprocess.DEVNULL)  # the kernel's own fds 1 and 2 are not the grader's
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        assert self.sandbox is not None
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.sandbox.uid is not None:  # the kernel (another uid) must read its connection file
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        if self.template is not None and cmd[1:3] == ["-m", "ipykernel_launcher"] and cmd[0] in (sys.executable, "python"):
            self._kernel_args = cmd[3:]
            return self.sandbox.command(stub_command(self._fifo()))
        self.template = None  # another kernel than the template's: a plain one
        return self.sandbox.command(cmd)

    def _fifo(self) -> str:
        assert self.sandbox is not None
        return str(Path(self.sandbox.socket_dir) / "kernel-pid")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        if self.template is None:
            return
        sandbox, launcher = self.sandbox, getattr(self.provisioner, "process", None)
        assert sandbox is not None and launcher is not None
        target = wait_for_stub(self._fifo(), launcher, launcher.pid)
        cgroup = sandbox.cgroup
        self.template_pid = self.template.fork({
            "target": target, "uid": sandbox.uid, "cwd": HOME, "env": sandbox.environment(),
            "rlimits": sandbox.rlimits(), "seccomp": str(sandbox.seccomp_filter) if sandbox.seccomp_filter else None,
            "cgroup_procs": cgroup.procs_files() if cgroup is not None else [],
            "fifo": self._fifo(), "kernel_args": self._kernel_args})

    async def _async_finish_shutdown(self, waittime: float | None = None, pollinterval: float = 0.1,
                                     restart: bool = False) -> None:
        """jupyter_client's, looking every 10 ms (not 100) whether the kernel has exited."""
        await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

    @property
    def kernel_pid(self) -> int | None:
        process = getattr(self.provisioner, "process", None)
        return getattr(process, "pid", None)
