"""A jupyter_client kernel manager whose kernel starts inside a :class:`~.sandbox.Sandbox`.

The kernel talks to the grader over unix sockets (``transport='ipc'``) in a folder bound into
the sandbox: the sandbox has no network at all, not even the host's loopback.
Interrupts are sent as messages (a signal to the process group would hit bubblewrap).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from .sandbox import Sandbox


class SandboxedKernelManager(AsyncKernelManager):
    sandbox: Sandbox | None = None

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
        return self.sandbox.command(cmd)

    @property
    def kernel_pid(self) -> int | None:
        process = getattr(self.provisioner, "process", None)
        return getattr(process, "pid", None)
