"""The resource limits every student notebook runs under (one fresh sandbox per notebook)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from course_utils.self_check import OUTPUT_LIMIT_BYTES

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-cell and per-notebook limits; ``cell_wall_s`` defaults to nbgrader's ``Execute.timeout``.

    Every field can be set from the nbgrader config as ``c.CourseGrade.<field> = value``.
    """

    cell_wall_s: float | None = None  # None: take Execute.timeout from the nbgrader config
    cell_cpu_s: float = 120.0
    notebook_wall_s: float = 900.0
    notebook_cpu_s: float = 900.0
    memory_bytes: int = 4096 * MiB  # RLIMIT_AS of every process in the sandbox
    sandbox_memory_bytes: int = 4096 * MiB  # all the sandbox's processes and tmpfs files together (cgroup)
    output_bytes: int = OUTPUT_LIMIT_BYTES  # all outputs of one notebook kept by the grader (then interrupt)
    output_hard_bytes: int = 1024 * MiB  # output received (and dropped) before the kernel is killed
    disk_bytes: int = 64 * MiB  # size of each writable tmpfs (home and /tmp)
    file_bytes: int = 32 * MiB  # RLIMIT_FSIZE: largest file a process may write
    processes: int = 256  # per sandbox: RLIMIT_NPROC of its uid or user namespace, and its cgroup (threads count too)
    open_files: int = 1024  # RLIMIT_NOFILE
    payload_bytes: int = 256 * MiB  # largest submission folder shipped to a worker
    device: str = "auto"  # auto | cpu | cuda (see device.py); the coordinator resolves auto before shipping
    allow_weaker_sandbox: bool = False  # grade even where a guarantee cannot be given (see sandbox.shortfalls)
    gpu_memory_fraction: float = 0.9  # each kernel's share of GPU memory (set from the number of workers)
    kernel_template: bool = True  # fork kernels from a template with the assignment's libraries imported

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_mapping(cls, values: dict | None) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in known})

    def with_device(self, device: str, fraction: float) -> "Limits":
        """These limits with the device decided (``cpu``/``cuda``) and the GPU memory share set."""
        return Limits.from_mapping({**self.to_dict(), "device": device, "gpu_memory_fraction": fraction})

    def with_cell_wall(self, timeout: float | None) -> "Limits":
        if self.cell_wall_s is not None or timeout is None:
            return self
        return Limits.from_mapping({**self.to_dict(), "cell_wall_s": float(timeout)})
