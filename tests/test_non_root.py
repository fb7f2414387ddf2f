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


def test_an_ordinary_user_grades_a_class(tmp_path: Path) -> None:
    user = pwd.getpwnam(USER)
    work = Path(tempfile.mkdtemp(prefix="course-non-root-", dir="/tmp"))
    try:
        work.chmod(0o755)
        course = build_course(work / "course")
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
        done = subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                               str(venv / "bin" / "python"), "-m", "course_grader.cli", "grade", ASSIGNMENT,
                               "--course", str(course.root), "--workers", "2"],
                              env=env, capture_output=True, text=True, timeout=900, cwd=str(home))
        output = done.stdout[-3000:] + done.stderr[-3000:]
        assert done.returncode == 0, output
        assert "NOT GRADED" not in done.stdout, output
        assert course.scores(ASSIGNMENT, "reference")["demo"] == {"test_sig": 2.0}, output
        assert course.scores(ASSIGNMENT, "wrong")["demo"] == {"test_sig": 0.0}, output
        # the fork bomb ran into its sandbox's cap (os.fork raised), and its correct answer still counts
        assert course.scores(ASSIGNMENT, "forker")["demo"] == {"test_sig": 2.0}, output
    finally:
        shutil.rmtree(work, ignore_errors=True)
