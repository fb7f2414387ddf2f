"""Reproducible installs: the lock pins everything, and an offline wheelhouse for the grading server resolves."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name as canonical
from packaging.utils import parse_wheel_filename

from course_grader.paths import course_root

ROOT = course_root()
UNLOCKED = {"torch", "pip"}  # torch comes from TORCH_SPEC (CPU build here, the server's CUDA build there)


def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonical(name)] = version.strip()
    return pins


def for_cpython_312(tag: Tag) -> bool:
    """A wheel tag CPython 3.12 on Linux accepts: pure Python, cp312, or the stable ABI of an older CPython."""
    if tag.interpreter.startswith("py3") and tag.abi == "none":
        return True
    return tag.interpreter == "cp312" or (tag.abi == "abi3" and tag.interpreter in {f"cp3{m}" for m in range(2, 13)})


def test_lock_pins_every_dependency_of_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [d for extra in project["optional-dependencies"].values() for d in extra]
    names = {canonical(Requirement(d).name) for d in wanted}
    missing = sorted(names - set(lock()) - UNLOCKED)
    assert not missing, f"not pinned in requirements-lock.txt: {missing}; run scripts/lock_requirements.sh"


def test_the_environment_is_exactly_the_lock() -> None:
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    installed = {canonical(n): v for n, v in (line.split("==") for line in frozen.splitlines() if "==" in line)}
    for name in UNLOCKED:
        installed.pop(name, None)
    assert installed == lock(), ("the environment differs from requirements-lock.txt: install under it "
                                 "(scripts/bootstrap.sh) or, after a deliberate upgrade, run scripts/lock_requirements.sh")


#: The Pythons instructors have: Debian 12's system Python and the grading server's.
SUPPORTED_PYTHONS = ("3.11.2", "3.12")


@pytest.mark.slow
@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_the_lock_resolves_on_every_supported_python(python: str) -> None:
    """Every pinned release (and torch) installs on that Python: pip resolves the lock for it, binary wheels only."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                           "--disable-pip-version-check", "--python-version", python, "--only-binary=:all:",
                           "-r", str(ROOT / "requirements-lock.txt"), "torch==2.13.0"],
                          capture_output=True, text=True, timeout=600)
    errors = [line for line in done.stderr.splitlines() if "is ignored" not in line]
    assert done.returncode == 0, f"the lock does not resolve on Python {python}:\n" + "\n".join(errors[-5:])


@pytest.mark.slow
def test_grading_server_wheelhouse_resolves_offline(tmp_path: Path) -> None:
    """The deployment recipe: wheels for the server's CPython 3.12, and everything resolves from them alone."""
    out = tmp_path / "wheelhouse"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build_wheelhouse.sh"), "-o", str(out), "--python", "3.12"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "resolves offline for CPython 3.12" in done.stdout
    wheels = {canonical(p.name.split("-")[0]) for p in out.glob("*.whl")}
    assert wheels == set(lock()), f"wheelhouse differs from the lock: {sorted(wheels ^ set(lock()))}"
    wrong = [p.name for p in out.glob("*.whl") if not any(for_cpython_312(tag) for tag in parse_wheel_filename(p.name)[3])]
    assert not wrong, f"wheels that CPython 3.12 cannot install: {wrong}"
    setuptools = next(out.glob("setuptools-*.whl"))
    setuptools.unlink()  # nbgrader needs it at run time: the check must notice it is gone
    broken = subprocess.run(["bash", str(ROOT / "scripts" / "build_wheelhouse.sh"), "-o", str(out), "--python", "3.12",
                             "--check-only"], capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0 and "incomplete" in broken.stderr, broken.stdout + broken.stderr
