"""Any instructor: an ordinary (non-root) user grades a class with `course grade` (bubblewrap in a user
namespace), from a Python that user can run (Debian's /usr/bin/python3) and a course folder they own."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from course_grader.grading import cgroups
from test_course_grade import ASSIGNMENT, SOLVED, build_course, submit_code

SYSTEM_PYTHON = Path("/usr/bin/python3")
USER = "nobody"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to switch to an ordinary user"
    if shutil.which("bwrap") is None or shutil.which("setpriv") is None:
        return "needs bubblewrap and setpriv"
    if not SYSTEM_PYTHON.exists():
        return "needs the system Python"
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(sys.version_info[:2]):
        return "the system Python is another minor version than the course environment"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no user {USER!r}"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(_missing()), reason=_missing() or "")]


HOGS = """import os, time
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(1600 * 2**20)
        time.sleep(1)
        os._exit(0)
    kids.append(pid)
print("signals:", [os.waitpid(k, 0)[1] & 0x7f for k in kids])"""


def test_an_ordinary_user_grades_a_class(tmp_path: Path) -> None:
    """Without a delegated cgroup the sandbox cannot cap memory per sandbox: `course grade` says so and grades
    nothing. Once root has delegated cgroups to the user, the class is graded with every guarantee."""
    user = pwd.getpwnam(USER)
    work = Path(tempfile.mkdtemp(prefix="course-non-root-", dir="/tmp"))
    delegated: list[Path] = []
    try:
        work.chmod(0o755)
        course = build_course(work / "course")
        # three children of 1.6 GiB each (each under the 4 GiB RLIMIT_AS): one 4 GiB memory cap for the whole
        # sandbox, so they cannot all live
        submit_code(course, "hogs", SOLVED, extra=HOGS)
        # a fork bomb: capped per sandbox (the user namespace's process count), not per instructor
        submit_code(course, "forker", SOLVED, extra="import os\nfor i in range(10_000):\n    try:\n        os.fork()\n"
                                                   "    except OSError:\n        break")
        home = work / "home"
        home.mkdir()
        # the user's own environment: the system Python, with the course environment's packages as a site dir
        venv = work / "venv"
        subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        packages = sysconfig.get_paths()["purelib"]
        (Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()) / "course.pth").write_text(
            f"import site; site.addsitedir({packages!r})\n")
        for path in (course.root, home):
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(path)], check=True)
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
               "COURSE_GRADE_LOCK_DIR": str(home / "locks"),
               "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}  # nbconvert's templates

        def course_command(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                                   str(venv / "bin" / "python"), "-m", "course_grader.cli", *args],
                                  env=env, capture_output=True, text=True, timeout=900, cwd=str(home))

        if cgroups.find_parent()[0] is not None and not any(
                (cgroups.FS / c / cgroups.delegated_name(USER)).exists() for c in cgroups.V1_CONTROLLERS):
            refused = course_command("grade", ASSIGNMENT, "--course", str(course.root), "--workers", "2")
            output = refused.stdout[-3000:] + refused.stderr[-3000:]
            assert refused.returncode == 1, output
            assert "memory is capped per process" in output and f"course sandbox delegate {USER}" in output, output
            assert not (course.root / "autograded").exists(), "nothing graded in the weaker sandbox"
            delegated = cgroups.delegate(USER)
        checked = course_command("sandbox", "check")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        done = course_command("grade", ASSIGNMENT, "--course", str(course.root), "--workers", "2")
        output = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, output
        assert "NOT GRADED" not in done.stdout, output
        assert course.scores(ASSIGNMENT, "reference")["demo"] == {"test_sig": 2.0}, output
        assert course.scores(ASSIGNMENT, "wrong")["demo"] == {"test_sig": 0.0}, output
        # the fork bomb ran into its sandbox's cap (os.fork raised), and its correct answer still counts
        assert course.scores(ASSIGNMENT, "forker")["demo"] == {"test_sig": 2.0}, output
        assert course.scores(ASSIGNMENT, "hogs")["demo"] == {"test_sig": 2.0}, output
        hogs = (course.root / "autograded" / "hogs" / ASSIGNMENT / "demo.ipynb").read_text()
        assert "signals:" in hogs and "9" in hogs.split("signals:")[1].split("]")[0], "a child was killed by the cap"
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for folder in delegated:
            for child in folder.glob("sandbox-*"):
                child.rmdir()
            folder.rmdir()
