"""Set up a course hub on this server (root): users, environments, the private course, the exchange.

What each role can reach is decided here, by file ownership and modes:

* ``<root>/env`` (students' servers and kernels): the course's third-party packages and the student
  runtime wheel ``course_utils``; nothing of ``source/``, hidden tests, the corpus, the grader or the
  exam solver.
* ``<root>/instructor-env`` (mode 750, group instructors): the same plus the course's own packages.
* ``~instructor/<course_folder>`` (mode 700 in a 700 home): ``source/``, ``release/``, ``instructor/``,
  ``nbgrader_config.py`` and, once grading starts, the gradebook.
* ``<root>/exchange`` (1777): nbgrader's exchange; ``<root>/data`` (755): the verified data set.

The environments reuse the packages of the project's ``.venv`` (hard links where the file system
allows, copies otherwise) under a Python every user can run.
"""
from __future__ import annotations

import importlib.metadata
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Iterable

from .settings import INSTRUCTORS, STUDENTS, HubSettings
from .wheels import project_wheel, student_wheel

#: Distributions of .venv that stay out of the hub's environments: the project itself, installed editable.
PROJECT_DISTRIBUTIONS = {"mi-week1-course", "course-utils"}
#: What the instructor's course folder holds (copied from the repository).
COURSE_FILES = ("source", "release", "instructor", "nbgrader_config.py")


class HubSetupError(RuntimeError):
    """The hub cannot be set up here; the message says why and what to do."""


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise HubSetupError(f"`{' '.join(args)}` failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


# ---- users -----------------------------------------------------------------------------------------
def ensure_user(name: str, group: str, password: str) -> Path:
    """A system user in ``group`` with ``password`` and a private (700) home; returns the home."""
    run(["groupadd", "-f", group])
    try:
        pwd.getpwnam(name)
        run(["usermod", "-a", "-G", group, name])
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/bash", "-G", group, name])
    run(["chpasswd"], input=f"{name}:{password}\n")
    home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)
    return home


def as_user(user: str, args: list[str], env: dict[str, str], cwd: Path | None = None,
            timeout: float = 1800, input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``args`` as ``user`` (its uid, its groups), with exactly ``env`` plus HOME/USER."""
    entry = pwd.getpwnam(user)
    full = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8", **env}
    return subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", *args],
                          env=full, cwd=str(cwd or entry.pw_dir), capture_output=True, text=True, timeout=timeout,
                          input=input)


# ---- environments ----------------------------------------------------------------------------------
def _usable_by_everyone(path: Path) -> bool:
    """Every folder above ``path`` is traversable and ``path`` executable by other users."""
    path = path.resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def shared_python() -> Path:
    """A Python of this environment's minor version that every user can run."""
    wanted = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [os.environ.get("COURSE_HUB_PYTHON"), getattr(sys, "_base_executable", None),
                  f"/usr/bin/python{wanted}", "/usr/bin/python3", f"/usr/local/bin/python{wanted}"]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if not path.exists() or not _usable_by_everyone(path):
            continue
        version = subprocess.run([str(path), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        if version == wanted:
            return path
    raise HubSetupError(f"no Python {wanted} that every user can run (the course environment's own lies in a "
                        f"private folder): install python{wanted} system-wide or set COURSE_HUB_PYTHON")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _site_packages(prefix: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)}))


def _project_files(site: Path) -> set[str]:
    """Top-level names in ``site`` that belong to the project's own (editable) installation."""
    names = {p.name for p in site.glob("__editable__*")}
    for dist in importlib.metadata.distributions(path=[str(site)]):
        if dist.metadata["Name"] and dist.metadata["Name"].lower().replace("_", "-") in PROJECT_DISTRIBUTIONS:
            names.add(Path(str(dist._path)).name)  # noqa: SLF001 (the dist-info folder)
    return names


def _write_console_scripts(env: Path, site: Path) -> None:
    """``env/bin`` wrappers for every console script of the packages in ``site`` (jupyter, nbgrader, alembic…)."""
    python = env / "bin" / "python"
    for dist in importlib.metadata.distributions(path=[str(site)]):
        for entry in dist.entry_points.select(group="console_scripts"):
            module, _, attr = entry.value.partition(":")
            call = f"{module}.{attr.strip()}" if attr else f"{module}.main"
            target = env / "bin" / entry.name
            if target.exists():
                continue
            target.write_text(f"#!{python}\nimport sys\nimport {module}\nsys.exit({call}())\n")
            target.chmod(0o755)


def build_environment(env: Path, python: Path, wheels: Iterable[Path] = ()) -> Path:
    """A virtual environment at ``env`` on ``python`` holding .venv's third-party packages plus ``wheels``."""
    if env.exists():
        shutil.rmtree(env)
    run([str(python), "-m", "venv", "--without-pip", str(env)])
    source_site = _site_packages(Path(sys.prefix))
    target_site = Path(run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
                           ).stdout.strip())
    skip = _project_files(source_site)
    for item in source_site.iterdir():
        if item.name in skip:
            continue
        destination = target_site / item.name
        if item.is_dir() and not item.is_symlink():
            shutil.copytree(item, destination, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(item), str(destination))
    for shared in ("share/jupyter", "etc/jupyter"):  # Lab extensions, server-extension switches, kernelspecs
        if (Path(sys.prefix) / shared).is_dir():
            shutil.copytree(Path(sys.prefix) / shared, env / shared, symlinks=True, copy_function=_link_or_copy,
                            dirs_exist_ok=True)
    for wheel in wheels:
        run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-compile",
             "--disable-pip-version-check", str(wheel)])
    _write_console_scripts(env, target_site)
    return env


# ---- the hub's folders -------------------------------------------------------------------------------
def install_config(hub: HubSettings, repo: Path) -> None:
    """Each role's Jupyter configuration (deploy/jupyter/<role>) under ``<root>/etc``, world-readable."""
    for role in (STUDENTS, INSTRUCTORS):
        target = hub.config_dir(role)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(repo / "deploy" / "jupyter" / role, target)


def install_data(hub: HubSettings) -> None:
    from course_utils import data
    hub.data.mkdir(parents=True, exist_ok=True)
    shutil.copy2(data.fetch_banknote(), hub.data / data.FILENAME)
    (hub.data / data.FILENAME).chmod(0o644)


def install_course(hub: HubSettings, repo: Path, instructor: str) -> Path:
    """The instructor's private course folder, owned by the instructor (mode 700)."""
    home = Path(pwd.getpwnam(instructor).pw_dir)
    course = hub.course_root(home)
    course.mkdir(mode=0o700, exist_ok=True)
    for name in COURSE_FILES:
        source, target = repo / name, course / name
        if target.exists():
            continue  # a course in use keeps its folders (and its gradebook); only what is missing is added
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            shutil.copy2(source, target)
    run(["chown", "-R", f"{instructor}:{pwd.getpwnam(instructor).pw_gid}", str(course)])
    course.chmod(0o700)
    return course


def release_course(hub: HubSettings, instructor: str, assignments: Iterable[str]) -> None:
    """As the instructor, with plain nbgrader: generate every assignment, then release it to the exchange."""
    env = hub.environment(INSTRUCTORS)
    course = hub.course_root(Path(pwd.getpwnam(instructor).pw_dir))
    nbgrader = str(hub.env(INSTRUCTORS) / "bin" / "nbgrader")
    for assignment in assignments:
        for step in (["generate_assignment", assignment, "--force"], ["release_assignment", assignment, "--force"]):
            done = as_user(instructor, [nbgrader, *step], env, cwd=course, timeout=600)
            if done.returncode != 0:
                raise HubSetupError(f"`nbgrader {' '.join(step)}` as {instructor} failed:\n{done.stdout[-3000:]}"
                                    f"{done.stderr[-3000:]}")


def provision(hub: HubSettings, repo: Path, students: dict[str, str], instructors: dict[str, str],
              assignments: Iterable[str], progress=print) -> None:
    """Set up everything the hub serves; ``students``/``instructors`` map user names to passwords."""
    if os.geteuid() != 0:
        raise HubSetupError("setting up the hub creates users and private folders: run it as root (sudo)")
    if not shutil.which("bwrap"):
        raise HubSetupError("bubblewrap is missing (course grade's sandbox): run `apt-get install bubblewrap`")
    hub.root.mkdir(parents=True, exist_ok=True)
    hub.root.chmod(0o755)
    hub.state.mkdir(mode=0o700, exist_ok=True)
    progress("users and groups")
    for name, password in instructors.items():
        ensure_user(name, hub.instructors_group, password)
    for name, password in students.items():
        ensure_user(name, hub.students_group, password)
    progress("the students' and the instructors' Python environments")
    python = shared_python()
    with tempfile.TemporaryDirectory(prefix="course-hub-wheels-") as tmp:
        build_environment(hub.env(STUDENTS), python, [student_wheel(repo, Path(tmp))])
        build_environment(hub.env(INSTRUCTORS), python, [project_wheel(repo, Path(tmp))])
    run(["chown", f"root:{hub.instructors_group}", str(hub.env(INSTRUCTORS))])
    hub.env(INSTRUCTORS).chmod(0o750)
    progress("configuration, exchange and data")
    install_config(hub, repo)
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)
    install_data(hub)
    hub.save()
    progress("the course folder and its release")
    from ..grading import cgroups
    for name in instructors:
        install_course(hub, repo, name)
        try:
            cgroups.delegate(name)  # `course grade` caps memory and processes per sandbox as this user
        except OSError as exc:
            progress(f"warning: no cgroups to delegate to {name} ({exc}); see `course sandbox check`")
    release_course(hub, hub.instructor, assignments)
