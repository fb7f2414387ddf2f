"""`course grade` with a PostgreSQL gradebook (``COURSE_DB_URL``), against a real server started here.

The server is a throwaway cluster (initdb in a temporary folder, unix socket only, no TCP port),
run as the ``postgres`` user when the tests run as root. Skips with the reason when Debian's
PostgreSQL server is not installed (``apt-get install postgresql``).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from course_grader import notebooks
from course_tooling import corpus
from course_grader.grading.runner import grade_assignment
from course_grader.course import Course
from course_grader.paths import course_root

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not BINARIES, reason="PostgreSQL server not installed (apt-get install postgresql)"),
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed"),
]


def as_postgres(*argv: str) -> list[str]:
    """Run a server binary as the unprivileged ``postgres`` user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@pytest.fixture(scope="module")
def postgres_url() -> str:
    pytest.importorskip("psycopg2", reason="psycopg2 not installed (pip install psycopg2-binary)")
    # not under pytest's tmp folder: the postgres user could not traverse root's 0700 parents
    base = Path(tempfile.mkdtemp(prefix="course-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    binaries = BINARIES[-1]
    subprocess.run(as_postgres(f"{binaries}/initdb", "-D", str(data), "-U", "grader", "--auth=trust"),
                   check=True, capture_output=True)
    subprocess.run(as_postgres(f"{binaries}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                               f"-c listen_addresses='' -k {sockets} -p 54329", "start"), check=True, capture_output=True)
    try:
        subprocess.run(as_postgres(f"{binaries}/createdb", "-h", str(sockets), "-p", "54329", "-U", "grader", "gradebook"),
                       check=True, capture_output=True)
        yield f"postgresql+psycopg2://grader@/gradebook?host={sockets}&port=54329"
    finally:
        subprocess.run(as_postgres(f"{binaries}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_course_grade_writes_a_postgresql_gradebook(postgres_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_DB_URL", postgres_url)
    root = tmp_path / "course"
    (root / "source" / "tiny").mkdir(parents=True)
    shutil.copy2(course_root() / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copy2(FIXTURES / "tiny_course_demo.ipynb", root / "source" / "tiny" / "demo.ipynb")
    course = Course(root)
    course.generate_assignment("tiny")
    source = notebooks.read(root / "source" / "tiny" / "demo.ipynb")
    released = notebooks.read(root / "release" / "tiny" / "demo.ipynb")
    entries = [corpus.load_entry(p) for p in sorted((FIXTURES / "tiny_corpus").glob("*.yaml"))]
    for entry in entries:
        course.submit(entry.student, "tiny", {"demo.ipynb": corpus.build_submission(entry, source, released)})
    run = grade_assignment(root, "tiny", workers=2, progress=False)
    assert sorted(run.graded) == sorted(e.student for e in entries)
    for entry in entries:
        assert course.scores("tiny", entry.student)["demo"] == entry.expected, entry.name
    assert not (root / "gradebook.db").exists(), "grades must go to PostgreSQL, not the SQLite default"
