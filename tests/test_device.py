"""Device policy of `course grade` (c.CourseGrade.device): what runs without a GPU, and a CUDA check that skips."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from course_grader import notebooks
from course_grader.grading import device
from course_grader.grading.limits import Limits
from course_grader.grading.sandbox import Sandbox

FAKE_GPU = ["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"]


def test_cpu_hides_every_gpu(tmp_path: Path) -> None:
    assert device.resolve("cpu", tmp_path, "a") == "cpu"
    binds, env = device.sandbox_settings("cpu", 0.5)
    assert binds == [] and env == {"CUDA_VISIBLE_DEVICES": ""}
    sandbox = Sandbox(tmp_path, tmp_path, Limits().with_device("cpu", 0.9))
    assert sandbox.environment()["CUDA_VISIBLE_DEVICES"] == ""
    assert "/dev/nvidia0" not in sandbox.bwrap_args()


def test_auto_takes_the_measured_faster_device_and_cpu_otherwise(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(device, "gpu_device_nodes", lambda: [])
    assert device.resolve("auto", tmp_path, "w1a4_keras") == "cpu"  # no GPU
    with pytest.raises(device.DeviceUnavailable, match="no NVIDIA GPU"):
        device.resolve("cuda", tmp_path, "w1a4_keras")
    monkeypatch.setattr(device, "gpu_device_nodes", lambda: FAKE_GPU)
    assert device.resolve("auto", tmp_path, "w1a4_keras") == "cpu"  # nothing measured: the CPU
    device.record_measurements(tmp_path, {"w1a4_keras": {"cpu": 50.0, "cuda": 95.0}}, "test machine")
    device.record_measurements(tmp_path, {"big_cnn": {"cpu": 300.0, "cuda": 40.0}}, "test machine")
    assert device.resolve("auto", tmp_path, "w1a4_keras") == "cpu"
    assert device.resolve("auto", tmp_path, "big_cnn") == "cuda"  # both measurements kept
    assert json.loads((tmp_path / device.MEASURED).read_text())["choice"] == {"w1a4_keras": "cpu", "big_cnn": "cuda"}
    monkeypatch.setattr(device, "gpu_device_nodes", lambda: [])
    assert device.resolve("auto", tmp_path, "big_cnn") == "cpu"  # measured faster, but no GPU here
    assert device.faster({"cpu": 10.0, "cuda": 10.0}) == "cpu" and device.faster({"cpu": 3.0}) == "cpu"
    with pytest.raises(ValueError, match="one of"):
        device.resolve("gpu", tmp_path, "a")


def test_cuda_binds_the_gpu_and_shares_its_memory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(device, "gpu_device_nodes", lambda: FAKE_GPU)
    assert device.memory_fraction(4) == 0.225
    sandbox = Sandbox(tmp_path, tmp_path, Limits().with_device("cuda", device.memory_fraction(4)))
    args = sandbox.bwrap_args()
    for node in FAKE_GPU:
        assert args[args.index(node) - 1] == "--dev-bind"
    assert sandbox.environment()["COURSE_CUDA_MEMORY_FRACTION"] == "0.2250"


torch = pytest.importorskip("torch")


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available() or shutil.which("bwrap") is None,
                    reason="needs an NVIDIA GPU (and bubblewrap): run on the GPU grading server")
@pytest.mark.parametrize("assignment", notebooks.assignments())
def test_same_grades_on_gpu_and_cpu(assignment: str, tmp_path: Path) -> None:
    """Every corpus submission of every notebook (attacks included) scores the same with and without CUDA."""
    from course_tooling.demo_class import demo_course
    from course_grader.grading.runner import grade_assignment

    results = {}
    for dev in ("cpu", "cuda"):
        course, roster = demo_course(tmp_path / dev, [assignment], attacks=True)
        grade_assignment(course.root, assignment, workers=2, progress=False, export=False, device=dev)
        results[dev] = {student: course.scores(assignment, student) for student in roster[assignment]}
    assert results["cpu"] == results["cuda"]
