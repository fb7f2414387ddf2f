"""Kernel templates of one grading process (see :mod:`.template_process`): started once, forked per notebook.

A template is keyed by the modules it preloads and the sandbox environment it starts from, so every
kernel forked from it starts exactly like a plain sandboxed kernel of that assignment, minus the import
time. The modules are those the assignment's reference solution imports (:func:`preload_modules`):
the instructor's choice of libraries, nothing a student wrote.
"""
from __future__ import annotations

import ast
import atexit
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import template_process

#: Runs inside the sandbox as a plain kernel would (its last ``exec``): names a fifo, reads the kernel's
#: pid from it, and lives as long as that kernel, so the sandbox ends when the kernel does.
STUB = """import os, select, sys
fifo = sys.argv[1]
os.mkfifo(fifo + ".new", 0o600)
os.rename(fifo + ".new", fifo)
with open(fifo) as f:
    pid = int(f.read(32) or 0)
try:
    select.select([os.pidfd_open(pid)], [], [])
except (OSError, ValueError):
    pass
"""
READY_TIMEOUT_S = 600.0
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class TemplateUnavailable(RuntimeError):
    """The template could not start or fork a kernel (before any student code ran)."""


def _imports(source: str) -> list[str]:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def preload_modules(source_dir: Path) -> list[str]:
    """Modules the reference notebooks of an assignment import (installed ones only), in a stable order."""
    import importlib.util

    import nbformat

    names: list[str] = []
    for path in sorted(source_dir.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        names += [n for cell in nb.cells if cell.cell_type == "code" for n in _imports(cell.source)]
    chosen = []
    for name in dict.fromkeys(names):
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                chosen.append(name)
        except (ImportError, ValueError):
            continue
    return chosen


class KernelTemplate:
    """One template process; :meth:`fork` starts a kernel from it inside a sandbox that waits for one."""

    def __init__(self, preload: list[str], env: dict[str, str]) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="course-template-"))
        self._lock = threading.Lock()
        self._channel, theirs = socket.socketpair()
        env = {**env, "HOME": str(self.home), "MPLCONFIGDIR": str(self.home / "matplotlib"),
               "COURSE_TEMPLATE_PRELOAD": json.dumps(preload)}
        env.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets before any import of matplotlib
        # the program comes on stdin, so a kernel's command line (inherited) shows a one-line loader only
        loader = f"import os, sys; os.dup2({theirs.fileno()}, 3); exec(compile(sys.stdin.read(), '<kernel>', 'exec'))"
        with open(self.home / "template.log", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", loader], env=env, cwd=self.home, stdin=subprocess.PIPE, stdout=log,
                stderr=log, pass_fds=[theirs.fileno()], start_new_session=True)
        theirs.close()
        try:
            self.process.stdin.write(Path(template_process.__file__).read_bytes())
            self.process.stdin.close()
        except OSError:
            pass  # it died at once: reported by the first fork's read
        self._buffer = b""
        self._ready: dict | None = None
        self._started = time.monotonic()

    def _line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._channel], [], [], left)[0]:
                raise TemplateUnavailable(f"the kernel template did not answer within {timeout:g} s")
            chunk = self._channel.recv(65536)
            if not chunk:
                raise TemplateUnavailable(f"the kernel template exited ({self.log_tail()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def log_tail(self) -> str:
        try:
            return (self.home / "template.log").read_text(errors="replace")[-500:].strip() or "no output"
        except OSError:
            return "no log"

    def fork(self, request: dict) -> int:
        """Fork a kernel into the sandbox whose stub is ``request['target']``; its pid on this host."""
        with self._lock:
            if self._ready is None:
                self._ready = self._line(READY_TIMEOUT_S)
            self._channel.sendall(json.dumps(request).encode() + b"\n")
            answer = self._line(60.0)
        if "pid" not in answer:
            raise TemplateUnavailable(f"the kernel template could not start a kernel: {answer.get('error')}")
        return int(answer["pid"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self._channel.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.home, ignore_errors=True)


_templates: dict[tuple, KernelTemplate] = {}
_registry_lock = threading.Lock()
_broken: set[tuple] = set()


def template_for(preload: list[str], env: dict[str, str]) -> KernelTemplate | None:
    """This process's template for ``preload`` in ``env`` (started on first use); None if it broke before."""
    key = (tuple(preload), tuple(sorted(env.items())))
    with _registry_lock:
        if key in _broken:
            return None
        template = _templates.get(key)
        if template is not None and not template.alive():
            template.close()
            template = None
        if template is None:
            template = _templates[key] = KernelTemplate(preload, env)
        return template


def give_up(template: KernelTemplate) -> None:
    """Stop using ``template`` in this process: plain kernels from now on."""
    with _registry_lock:
        for key, known in list(_templates.items()):
            if known is template:
                _broken.add(key)
                del _templates[key]
    template.close()


@atexit.register
def close_all() -> None:
    with _registry_lock:
        for template in _templates.values():
            template.close()
        _templates.clear()


def stub_pid(root: int) -> int | None:
    """The deepest descendant of ``root`` (bubblewrap): the stub, the sandbox's innermost process."""
    import psutil

    try:
        proc = psutil.Process(root)
        while True:
            children = proc.children()
            if not children:
                return proc.pid if proc.pid != root else None
            proc = children[-1]
    except psutil.Error:
        return None


def stub_command(fifo: str) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", STUB, fifo]


def wait_for_stub(fifo: str, launcher: subprocess.Popen | None, root: int, timeout: float = 60.0) -> int:
    """The stub's pid once it waits on ``fifo`` (the submission is then copied into the sandbox's home)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(fifo):
            pid = stub_pid(root)
            if pid is not None:
                return pid
        if launcher is not None and launcher.poll() is not None:
            raise TemplateUnavailable(f"the sandbox exited before its kernel started (status {launcher.returncode})")
        time.sleep(0.003)
    raise TemplateUnavailable(f"the sandbox was not ready within {timeout:g} s")
