"""``course sandbox check``: which sandbox guarantees this host gives, and how (one real sandbox run)."""
from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import seccomp
from .cgroups import sandbox_cgroup
from .limits import Limits
from .sandbox import Sandbox, SandboxUnavailable, UidLease, check_tools, shortfalls


@dataclass(frozen=True)
class Guarantee:
    name: str
    held: bool
    how: str


def check(limits: Limits | None = None) -> list[Guarantee]:
    """Start one sandbox as ``course grade`` would and list every guarantee, held or not."""
    limits = limits or Limits(device="cpu")
    try:
        check_tools()
    except SandboxUnavailable as exc:
        return [Guarantee("bubblewrap sandbox", False, str(exc))]
    lease = UidLease()
    cgroup, why = sandbox_cgroup(limits.sandbox_memory_bytes, limits.processes)
    try:
        with tempfile.TemporaryDirectory(prefix="course-sandbox-check-") as work:
            submission, sockets = Path(work) / "submission", Path(work) / "sockets"
            submission.mkdir()
            sockets.mkdir()
            box = Sandbox(submission, sockets, limits, uid=lease.uid, cgroup=cgroup,
                          seccomp_filter=seccomp.write_filter(Path(work) / "seccomp.bpf"))
            probe = ("touch /dev/probe 2>/dev/null && echo dev-writable; unshare -U true 2>/dev/null && echo userns; "
                     "grep -q 'NoNewPrivs:.*1' /proc/self/status || echo new-privs; echo ok")
            done = subprocess.run(box.command(["/bin/sh", "-c", probe]), capture_output=True, text=True, timeout=60)
    finally:
        if cgroup is not None:
            cgroup.close()
        lease.close()
    runs = done.returncode == 0 and done.stdout.strip().endswith("ok")
    if not runs:
        return [Guarantee("bubblewrap sandbox", False, f"a sandbox did not start: {done.stderr.strip()[-500:]}")]
    root = os.geteuid() == 0
    missing = shortfalls(cgroup, why)
    return [
        Guarantee("no network, private read-only files, cleared environment", True, "bubblewrap namespaces"),
        Guarantee("no capabilities", True, "a throwaway uid per sandbox (setpriv)" if root
                  else "a user namespace of its own (the instructor's uid outside it)"),
        Guarantee("no escalation from inside",
                  "seccomp" not in missing and "userns" not in done.stdout and "new-privs" not in done.stdout,
                  missing.get("seccomp",
                              "NoNewPrivs and a seccomp filter (no namespaces, mounts, ptrace, keyrings, BPF)")),
        Guarantee("size-capped /dev, /dev/shm, /tmp and home", "dev-writable" not in done.stdout,
                  f"/dev read-only, tmpfs of {limits.disk_bytes // 2**20} MiB each"),
        Guarantee(f"{limits.processes} processes per sandbox", True,
                  ("its own uid's RLIMIT_NPROC" if root else "RLIMIT_NPROC inside its own user namespace")
                  + (" and a pids cgroup" if cgroup is not None else "")),
        Guarantee(f"{limits.sandbox_memory_bytes // 2**20} MiB of memory per sandbox", "memory" not in missing,
                  f"a memory cgroup ({cgroup.parent.describe()})" if cgroup is not None else missing["memory"]),
        Guarantee("CPU time per sandbox", cgroup is not None and bool({"cpuacct", "cpu"} & set(cgroup.parent.dirs)),
                  "cgroup CPU accounting" if cgroup is not None else
                  "the kernel's process tree only (a detached process is not counted)"),
    ]


def report(guarantees: list[Guarantee]) -> str:
    width = max(len(g.name) for g in guarantees)
    return "\n".join(f"{'yes' if g.held else 'NO ':4} {g.name:<{width}}  {g.how}" for g in guarantees)
