"""A seccomp filter for the sandbox: no escalation from inside.

bubblewrap loads it (``--seccomp FD``) just before it runs the sandbox's command. It makes the
system calls below fail with EPERM: namespaces (``unshare``, ``setns``, ``clone`` with a namespace
flag; ``clone3``, whose flags a filter cannot read, fails with ENOSYS so libc falls back to
``clone``), mounts, ``ptrace`` and reading other processes' memory, kernel keyrings, BPF, perf,
modules, reboot, swap and the like. x32 system calls and foreign architectures are refused too.
It is written as classic BPF by hand (no libseccomp needed).
"""
from __future__ import annotations

import errno
import platform
import struct
from pathlib import Path

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_BIT = 0x40000000
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
#: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET

DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
          "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
          "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon",
          "swapoff", "acct", "syslog", "quotactl", "open_by_handle_at", "name_to_handle_at", "fsopen",
          "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "iopl", "ioperm",
          "lookup_dcookie", "settimeofday", "clock_settime", "adjtimex", "sethostname", "setdomainname")

SYSCALLS = {
    "x86_64": {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
               "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "keyctl": 250, "add_key": 248,
               "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "init_module": 175,
               "finit_module": 313, "delete_module": 176, "kexec_load": 246, "kexec_file_load": 320, "reboot": 169,
               "swapon": 167, "swapoff": 168, "acct": 163, "syslog": 103, "quotactl": 179, "open_by_handle_at": 304,
               "name_to_handle_at": 303, "fsopen": 430, "fsmount": 432, "fsconfig": 431, "fspick": 433,
               "move_mount": 429, "open_tree": 428, "mount_setattr": 442, "iopl": 172, "ioperm": 173,
               "lookup_dcookie": 212, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
               "sethostname": 170, "setdomainname": 171, "clone": 56, "clone3": 435},
    "aarch64": {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
                "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "keyctl": 219, "add_key": 217,
                "request_key": 218, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "init_module": 105,
                "finit_module": 273, "delete_module": 106, "kexec_load": 104, "kexec_file_load": 294, "reboot": 142,
                "swapon": 224, "swapoff": 225, "acct": 89, "syslog": 116, "quotactl": 60, "open_by_handle_at": 265,
                "name_to_handle_at": 264, "fsopen": 430, "fsmount": 432, "fsconfig": 431, "fspick": 433,
                "move_mount": 429, "open_tree": 428, "mount_setattr": 442, "lookup_dcookie": 18,
                "settimeofday": 170, "clock_settime": 112, "adjtimex": 171, "sethostname": 161,
                "setdomainname": 162, "clone": 220, "clone3": 435},
}

# classic BPF opcodes
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
NR, ARCH, ARG0_LOW = 0, 4, 16  # offsets in struct seccomp_data (little-endian)


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def supported(machine: str | None = None) -> bool:
    return (machine or platform.machine()) in SYSCALLS


def program(machine: str | None = None) -> bytes:
    """The filter as bytes for ``bwrap --seccomp`` (an array of ``struct sock_filter``)."""
    machine = machine or platform.machine()
    table = SYSCALLS[machine]
    deny = sorted({table[name] for name in DENIED if name in table})
    eperm, enosys = SECCOMP_RET_ERRNO | errno.EPERM, SECCOMP_RET_ERRNO | errno.ENOSYS
    # layout: [arch check][load nr][x32 check][one jump per denied nr][clone3][clone + flags][allow][eperm][enosys]
    body: list[tuple[int, int, int, int]] = []
    n_deny = len(deny)
    # instructions after the nr load: x32 (1), denied (n), clone3 (1), clone (1), load arg0 (1), jset (1),
    # allow (1), eperm (1), enosys (1); jump targets are relative to the next instruction
    allow_at = 1 + n_deny + 1 + 1 + 1 + 1
    eperm_at, enosys_at = allow_at + 1, allow_at + 2

    def to(target: int, here: int) -> int:
        return target - here - 1

    body.append((JGE_K, to(eperm_at, 0), 0, X32_BIT))
    for i, nr in enumerate(deny, start=1):
        body.append((JEQ_K, to(eperm_at, i), 0, nr))
    i = 1 + n_deny
    body.append((JEQ_K, to(enosys_at, i), 0, table["clone3"]))
    body.append((JEQ_K, 0, to(allow_at, i + 1), table["clone"]))  # clone: look at its flags, else allow
    body.append((LD_W_ABS, 0, 0, ARG0_LOW))
    body.append((JSET_K, to(eperm_at, i + 3), 0, CLONE_NAMESPACES))
    body.append((RET_K, 0, 0, SECCOMP_RET_ALLOW))
    body.append((RET_K, 0, 0, eperm))
    body.append((RET_K, 0, 0, enosys))
    head = [(LD_W_ABS, 0, 0, ARCH), (JEQ_K, 1, 0, AUDIT_ARCH[machine]),
            (RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS), (LD_W_ABS, 0, 0, NR)]
    return b"".join(_insn(*ins) for ins in head + body)


def write_filter(path: Path) -> Path | None:
    """Write the filter for this machine to ``path`` (None where the architecture is not known)."""
    if not supported():
        return None
    path.write_bytes(program())
    path.chmod(0o644)
    return path
