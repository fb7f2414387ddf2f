"""Which device student kernels see: the GPU or the CPU (``c.CourseGrade.device``).

``cpu`` hides every GPU (``CUDA_VISIBLE_DEVICES=""``, no device nodes in the sandbox).
``cuda`` binds the NVIDIA device nodes into each sandbox and caps each kernel's share of GPU
memory (``COURSE_CUDA_MEMORY_FRACTION``, applied by ``course_utils.setup()``), so parallel
workers share one GPU without running out of memory. ``auto`` (the default) takes the faster
device that ``scripts/benchmark_devices.py`` measured for the assignment on this machine
(``grading-benchmarks/devices.json``, see :func:`record_measurements`), and the CPU where
nothing was measured or no GPU is present: the Week-1 models are tiny and launch-bound, so the
CPU is the safe default. The grading processes themselves never import torch, so CUDA is
never initialised in a process that later forks.
"""
from __future__ import annotations

import glob
import json
from pathlib import Path

POLICIES = ("auto", "cpu", "cuda")
MEASURED = Path("grading-benchmarks") / "devices.json"
#: Share of the GPU's memory all parallel kernels together may take.
GPU_MEMORY_SHARE = 0.9


class DeviceUnavailable(RuntimeError):
    """``cuda`` was asked for on a machine without an NVIDIA GPU."""


def gpu_device_nodes() -> list[str]:
    """The NVIDIA device files of this machine (empty without a GPU)."""
    return sorted(glob.glob("/dev/nvidia*"))


def measured_choice(root: Path, assignment: str) -> str | None:
    """The faster device the benchmark recorded for ``assignment``, if any."""
    path = root / MEASURED
    if not path.is_file():
        return None
    choice = json.loads(path.read_text()).get("choice", {}).get(assignment)
    return choice if choice in ("cpu", "cuda") else None


def faster(seconds: dict[str, float]) -> str:
    """The device that graded fastest (``{"cpu": s, "cuda": s}``); the CPU on a tie or when alone."""
    return min(seconds, key=lambda dev: (seconds[dev], dev != "cpu"))


def record_measurements(root: Path, seconds: dict[str, dict[str, float]], machine: str) -> Path:
    """Store per-assignment grading times by device and the faster device, for ``auto`` to read."""
    path = root / MEASURED
    path.parent.mkdir(parents=True, exist_ok=True)
    measured = json.loads(path.read_text()).get("seconds", {}) if path.is_file() else {}
    for assignment, by_device in seconds.items():
        measured[assignment] = {dev: round(t, 2) for dev, t in by_device.items()}
    record = {"machine": machine, "seconds": measured,
              "choice": {assignment: faster(by_device) for assignment, by_device in measured.items()}}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path


def resolve(policy: str, root: Path, assignment: str) -> str:
    """``cpu`` or ``cuda`` for this run of ``assignment`` under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"c.CourseGrade.device must be one of {POLICIES}, not {policy!r}")
    has_gpu = bool(gpu_device_nodes())
    if policy == "cuda" and not has_gpu:
        raise DeviceUnavailable("c.CourseGrade.device = 'cuda' but this machine has no NVIDIA GPU (/dev/nvidia*); "
                                "use 'auto' or 'cpu'")
    if policy == "auto":
        return "cuda" if has_gpu and measured_choice(root, assignment) == "cuda" else "cpu"
    return policy


def memory_fraction(workers: int) -> float:
    """Each kernel's cap on GPU memory when ``workers`` kernels share one GPU."""
    return round(GPU_MEMORY_SHARE / max(1, workers), 4)


def sandbox_settings(device: str, fraction: float) -> tuple[list[str], dict[str, str]]:
    """bubblewrap arguments and environment for a kernel on ``device`` (``auto`` counts as ``cpu``)."""
    if device != "cuda":
        return [], {"CUDA_VISIBLE_DEVICES": ""}
    binds = [arg for node in gpu_device_nodes() for arg in ("--dev-bind", node, node)]
    return binds, {"COURSE_CUDA_MEMORY_FRACTION": f"{fraction:.4f}"}
