"""The kernel template: a process with the assignment's libraries already imported, forked into each sandbox.

Run as its own program (``python -c`` with this file's text; it imports nothing of the grader, so a
student kernel forked from it holds no grader code or data). It starts from the sandbox's clean
environment, imports ipykernel and the modules the assignment's reference solution imports (numpy,
torch, Keras...) once, then serves fork requests on the socket it was given (fd 3), one JSON line each.

For each request, a sandbox has already been built by bubblewrap exactly as for a plain kernel (its
``stub`` waits inside). The template forks a child that

1. moves itself into the sandbox's cgroups, joins the sandbox's namespaces (user, ipc, uts, net, pid,
   cgroup, mount: its root and working folder become the sandbox's),
2. takes the sandbox's limits: rlimits, no capabilities (an empty bounding set; as root the sandbox's
   own uid), ``no_new_privs`` and the seccomp filter,
3. forks the kernel: the first process of the sandbox's pid namespace that was not started by
   bubblewrap, with no descriptor of the template left open, the sandbox's environment, and fresh
   random state. It tells the stub its pid and becomes an ipykernel on the sandbox's connection file.

The answer is the kernel's pid (on the host), or the reason the child could not confine itself.
"""
import ctypes
import json
import os
import select
import signal
import socket
import sys

CAPABILITY_VERSION_3 = 0x20080522
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER = 24, 38, 22, 36
SECCOMP_MODE_FILTER = 2
KERNEL_MODULES = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger"]
NAMESPACES = ("ipc", "uts", "net", "pid", "cgroup", "mnt")  # the user namespace goes first, the mounts last

libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _load_seccomp(program: bytes) -> None:
    count = len(program) // 8
    filters = (_SockFilter * count).from_buffer_copy(program)
    prog = _SockFprog(count, ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def _empty_bounding_set() -> None:
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "dropping the capability bounding set")


def _clear_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(libc.capset(header, data), "capset")


def _same_namespace(target: int, name: str) -> bool:
    return os.stat(f"/proc/{target}/ns/{name}").st_ino == os.stat(f"/proc/self/ns/{name}").st_ino


def _confine(request: dict) -> None:
    """Everything bubblewrap, prlimit, setpriv and the cgroup entry do for a plain kernel, in this process."""
    import resource

    for procs in request.get("cgroup_procs", []):
        with open(procs, "w") as f:
            f.write("0")
    target = request["target"]
    order = [] if _same_namespace(target, "user") else ["user"]
    order += [ns for ns in NAMESPACES if not _same_namespace(target, ns)]
    handles = [(os.open(f"/proc/{target}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC), ns) for ns in order]
    seccomp = open(request["seccomp"], "rb").read() if request.get("seccomp") else None
    for fd, ns in handles:
        _check(libc.setns(fd, 0), f"joining the sandbox's {ns} namespace")
        os.close(fd)
    os.chdir(request["cwd"])
    for name, value in request["rlimits"].items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))
    _empty_bounding_set()
    uid = request.get("uid")
    if uid is not None:  # as root: the sandbox's own uid, as setpriv gives a plain kernel
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _clear_capabilities()  # unprivileged: those of the sandbox's user namespace
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if seccomp:
        _load_seccomp(seccomp)


def _become_kernel(request: dict) -> None:
    """In the sandbox's pid namespace: shed the template's descriptors and state, then run ipykernel."""
    import importlib
    import random

    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 1 << 16)
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()  # the legacy global generator: fresh entropy, as in a new process
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    with open(request["fifo"], "w") as f:  # the stub waits for the kernel's pid, then for its end
        f.write(str(os.getpid()))
    sys.argv = ["ipykernel_launcher", *request["kernel_args"]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def _fork_kernel(request: dict, answer: int) -> None:
    """The child of the template: confine, fork the kernel, report its pid; never returns."""
    code = 0
    try:
        _confine(request)
        pid = os.fork()
        if pid == 0:
            try:
                _become_kernel(request)
            finally:
                os._exit(0)
        os.write(answer, json.dumps({"pid": pid}).encode())
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, which starts a plain kernel instead
        os.write(answer, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        code = 1
    os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _serve(channel: socket.socket) -> None:
    buffered = b""
    while True:
        ready, _, _ = select.select([channel], [], [], 1.0)
        _reap()
        if not ready:
            continue
        chunk = channel.recv(1 << 20)
        if not chunk:
            return  # the grader is gone
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            read_end, write_end = os.pipe()
            child = os.fork()
            if child == 0:
                os.close(read_end)
                _fork_kernel(json.loads(line), write_end)
            os.close(write_end)
            answer = b""
            while chunk := os.read(read_end, 65536):
                answer += chunk
            os.close(read_end)
            os.waitpid(child, 0)
            channel.sendall((answer or b'{"error": "the template child died"}') + b"\n")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # kernels whose forking child exits are reaped here
    channel = socket.socket(fileno=3)
    failed = {}
    for module in KERNEL_MODULES + json.loads(os.environ.pop("COURSE_TEMPLATE_PRELOAD", "[]")):
        try:
            __import__(module)
        except BaseException as exc:  # noqa: BLE001 - the kernel imports it itself, as a plain one would
            failed[module] = f"{type(exc).__name__}: {exc}"[:300]
    channel.sendall(json.dumps({"ready": True, "not_preloaded": failed}).encode() + b"\n")
    _serve(channel)
    import shutil  # the grader is gone (it may not have cleaned up): the template's own folder goes too

    shutil.rmtree(os.getcwd(), ignore_errors=True)


if __name__ == "__main__":
    main()
