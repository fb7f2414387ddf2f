"""The semester in a real JupyterHub, driven in headless Chromium.

`course hub setup` (what `scripts/hub.sh` runs) sets up a hub on free loopback ports with PAM users:
an instructor and two students. A student logs in, fetches `w1a1_single_neuron` from nbgrader's
assignment list, types an answer, runs it, validates, submits; the instructor collects with nbgrader,
grades with `course grade` and releases feedback with nbgrader; the student fetches the feedback and
the test reads the score from the page. Screenshots of every step go to `test-artifacts/hub-browser/`.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from course_grader.hub import provision
from course_grader.hub.settings import INSTRUCTORS, STUDENTS, HubSettings
from course_grader.paths import course_root
from conftest import cpu_to_ourselves

ROOT = course_root()
PROXY = ROOT / ".venv" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "hub-browser"
ASSIGNMENT, NOTEBOOK = "w1a1_single_neuron", "single_neuron"
INSTRUCTOR, STUDENT, OTHER = "mitest-instructor", "mitest-student1", "mitest-student2"
#: The answer the student types into the first exercise (worth 2 of the notebook's 18 points).
ANSWER = "z = 1.0 + 1 * 0.3 + 2.2 * 0.1\np_fake = 1 / (1 + np.exp(-z))"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (the hub creates users and spawns their servers)"
    for tool in ("bwrap", "setpriv", "useradd", "node"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    if not CHROMIUM.exists() or not PROXY.exists():
        return "needs Debian's chromium and the npm proxy (scripts/bootstrap.sh installs both as root)"
    try:
        import playwright.sync_api  # noqa: F401
        provision.shared_python()
    except (ImportError, provision.HubSetupError) as exc:
        return str(exc)
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(_missing()), reason=_missing() or "")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def remove_people(hub: HubSettings | None = None) -> None:
    """Remove the test's users, groups and delegated cgroups (also what a killed earlier run left)."""
    for name in (INSTRUCTOR, STUDENT, OTHER):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "-r", "-f", name], capture_output=True)
        from course_grader.grading import cgroups
        for folder in cgroups.FS.glob(f"*/{cgroups.delegated_name(name)}"):
            for child in folder.glob("sandbox-*"):
                child.rmdir()
            folder.rmdir()
    for group in ("mitest-students", "mitest-instructors"):
        subprocess.run(["groupdel", group], capture_output=True)


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"jupyterhub exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the hub did not answer at {url}")


@pytest.fixture(scope="module")
def hub():
    remove_people()
    root = Path(tempfile.mkdtemp(prefix="course-hub-", dir="/tmp"))
    settings = HubSettings(root=root, port=free_port(), hub_port=free_port(), proxy_api_port=free_port(),
                           proxy_command=str(PROXY), instructor=INSTRUCTOR, instructors_group="mitest-instructors",
                           students_group="mitest-students")
    passwords = {INSTRUCTOR: "instructor-pw-1", STUDENT: "student-pw-1", OTHER: "student-pw-2"}
    process = None
    with cpu_to_ourselves():  # a hub, its servers and Chromium: no timing test beside it
        try:
            provision.provision(settings, ROOT, {STUDENT: passwords[STUDENT], OTHER: passwords[OTHER]},
                                {INSTRUCTOR: passwords[INSTRUCTOR]}, [ASSIGNMENT], progress=lambda step: None)
            log = open(root / "hub.log", "w")
            process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(ROOT / "deploy" / "jupyterhub_config.py")],
                                       env={**os.environ, "COURSE_HUB_SETTINGS": str(settings.file),
                                            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
                                       cwd=str(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            wait_until_up(f"http://127.0.0.1:{settings.port}/hub/api/health", process)
            yield settings, passwords
        finally:
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            log_text = (root / "hub.log").read_text(errors="replace") if (root / "hub.log").exists() else ""
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "hub.log").write_text(log_text)
            remove_people()
            shutil.rmtree(root, ignore_errors=True)


def secret_lines() -> list[str]:
    """Every line (20 characters or more) of a solution or a hidden test in the course's source notebooks."""
    from course_grader import notebooks

    lines, inside = [], False
    for assignment in notebooks.assignments():
        for path in notebooks.notebook_paths(notebooks.source_dir() / assignment):
            for cell in notebooks.read(path).cells:
                for line in cell.source.splitlines():
                    marker = line.strip()
                    if marker in (notebooks.SOLUTION_BEGIN, notebooks.HIDDEN_BEGIN):
                        inside = True
                    elif marker in (notebooks.SOLUTION_END, notebooks.HIDDEN_END):
                        inside = False
                    elif inside and len(marker) >= 20:
                        lines.append(marker)
    return lines


def as_student(hub: HubSettings, *code: str) -> subprocess.CompletedProcess:
    return provision.as_user(STUDENT, [str(hub.env(STUDENTS) / "bin" / "python"), "-c", "\n".join(code)],
                             hub.environment(STUDENTS))


def test_a_student_works_submits_and_reads_the_feedback_in_a_browser(hub) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings, passwords = hub
    base = f"http://127.0.0.1:{settings.port}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    instructor_course = settings.course_root(Path(pwd.getpwnam(INSTRUCTOR).pw_dir))

    def instructor(*args: str) -> str:
        done = provision.as_user(INSTRUCTOR, list(args), settings.environment(INSTRUCTORS), cwd=instructor_course)
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout + done.stderr

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)  # a kernel starts, a notebook runs: seconds on 2 busy cores

        def shot(name: str) -> None:
            page.screenshot(path=str(SHOTS / f"{name}.png"))

        def open_assignment_list() -> None:
            page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
            assert [i for i in items if i] == ["Assignment List"], f"students see only the assignment list: {items}"
            page.click(".lm-Menu-itemLabel:has-text('Assignment List')")

        try:
            # log in; the hub spawns the student's JupyterLab
            page.goto(f"{base}/hub/login")
            page.fill("#username_input", STUDENT)
            page.fill("#password_input", passwords[STUDENT])
            shot("01-login")
            page.click("#login_submit")
            page.wait_for_selector("#jp-main-dock-panel")
            page.wait_for_url(re.compile(rf".*/user/{STUDENT}/lab.*"))
            shot("02-lab")
            # no instructor tools for students: no "Create Assignment" panel, no formgrader behind the menu
            assert page.get_by_text("Create Assignment").count() == 0
            assert page.request.get(f"{base}/user/{STUDENT}/formgrader").status == 404

            # fetch the assignment and open its notebook
            open_assignment_list()
            page.click(f"#released_assignments_list .list_item:has-text('{ASSIGNMENT}') button:has-text('Fetch')")
            fetched = page.locator(f"#fetched_assignments_list .list_item:has-text('{ASSIGNMENT}')").first
            expect(fetched).to_be_visible()
            shot("03-fetched")
            fetched.locator("a.assignment-notebooks-link").click()
            fetched.locator(f"a:text-is('{NOTEBOOK}')").click()
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")

            # run the locked set-up cell (course_utils from the students' environment, the data from the
            # hub's mirror), type the answer into the first exercise, run it, save
            cells = page.locator(".jp-NotebookPanel:visible .jp-Cell")
            expect(page.get_by_text(re.compile(r"\| Idle"))).to_be_visible()  # the kernel is up
            for index, text in ((1, None), (3, ANSWER)):
                cell = cells.nth(index)
                if text is None:
                    cell.locator(".jp-InputArea-prompt").click()  # select the (locked) cell
                else:
                    cell.locator(".cm-content").click()
                    page.keyboard.press("Control+a")
                    page.keyboard.insert_text(text)
                page.keyboard.press("Shift+Enter")
                expect(cell.locator(".jp-InputArea-prompt")).to_contain_text(re.compile(r"\[\d+\]"))
                assert cell.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0, \
                    cell.locator(".jp-OutputArea").inner_text()
            page.keyboard.press("Control+s")
            page.wait_for_timeout(1500)
            shot("04-answered")

            # Validate: nbgrader runs the notebook and lists what fails (the unanswered exercises)
            page.click(".jp-NotebookPanel:visible jp-button:has-text('Validate'), "
                       ".jp-NotebookPanel:visible button:has-text('Validate')")
            dialog = page.locator(".jp-Dialog")
            expect(dialog).to_be_visible(timeout=240_000)
            expect(dialog).to_contain_text(re.compile("failed|error|NotImplementedError", re.I), timeout=240_000)
            shot("05-validated")
            dialog.locator("button").last.click()

            # submit from the assignment list
            open_assignment_list()
            fetched = page.locator(f"#fetched_assignments_list .list_item:has-text('{ASSIGNMENT}')").first
            fetched.locator("button:has-text('Submit')").click()
            submitted = page.locator(f"#submitted_assignments_list .list_item:has-text('{ASSIGNMENT}')").first
            expect(submitted).to_be_visible()
            shot("06-submitted")

            # the instructor collects, grades and releases feedback with the course's commands
            instructor("nbgrader", "collect", ASSIGNMENT)
            graded = instructor("course", "grade", ASSIGNMENT, "--workers", "2")
            assert "NOT GRADED" not in graded, graded
            instructor("nbgrader", "release_feedback", ASSIGNMENT)

            # the student fetches the feedback and opens the page
            page.click("#refresh_assignments_list")
            submitted = page.locator(f"#submitted_assignments_list .list_item:has-text('{ASSIGNMENT}')").first
            submitted.locator("button:has-text('Fetch Feedback')").click()
            view = submitted.locator("a:has-text('view feedback')")
            expect(view).to_be_visible()
            shot("07-feedback-fetched")
            # "view feedback" shows the feedback folder; the page opens in Lab's HTML viewer
            view.click()
            page.locator(f".jp-DirListing-item:has-text('{NOTEBOOK}.html')").dblclick()
            frame = page.frame_locator(".jp-MainAreaWidget:visible iframe").first
            expect(frame.locator("body")).to_contain_text("Total score")
            shot("08-feedback-page")
            text = frame.locator("body").inner_text()
            html = frame.locator("html").inner_html()
        except Exception:
            shot("99-failed-here")
            raise
        finally:
            browser.close()

    assert re.search(r"2(\.0+)?\s*/\s*18", text), f"the page shows the score 2 / 18: {text[:1500]}"
    assert "NotImplementedError" in text or "not answered" in text.lower(), "each failed test says why"
    assert "BEGIN HIDDEN TESTS" not in html and "_z_true" not in html, "no hidden test on the feedback page"
    assert "$$" not in text and "<math" in html, "the page's maths are MathML, not raw TeX"
    assert "mathjax" not in html.lower() and "cdn" not in html.lower(), "nothing loads from the internet"


def test_instructors_get_formgrader_inside_lab(hub) -> None:
    from playwright.sync_api import expect, sync_playwright

    settings, passwords = hub
    base = f"http://127.0.0.1:{settings.port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        try:
            page.goto(f"{base}/hub/login")
            page.fill("#username_input", INSTRUCTOR)
            page.fill("#password_input", passwords[INSTRUCTOR])
            page.click("#login_submit")
            page.wait_for_selector("#jp-main-dock-panel")
            assert page.request.get(f"{base}/user/{INSTRUCTOR}/formgrader").status == 200
            page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            items = [i for i in page.locator(".lm-Menu-itemLabel").all_inner_texts() if i]
            assert "Formgrader" in items, items
            page.click(".lm-Menu-itemLabel:text-is('Formgrader')")
            frame = page.frame_locator("iframe").first
            expect(frame.locator("body")).to_contain_text(ASSIGNMENT, timeout=120_000)
            page.screenshot(path=str(SHOTS / "09-instructor-formgrader.png"))
        finally:
            browser.close()


def test_students_can_reach_no_solution(hub) -> None:
    """The students' environment holds the runtime only, the course folder is private, and no file a student
    can read holds a solution or a hidden test."""
    settings, _ = hub
    probe = as_student(settings, "import importlib.util as u",
                       "print([m for m in ('course_utils', 'course_grader', 'course_tooling', 'instructor', 'nbgrader')"
                       " if u.find_spec(m)])")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "['course_utils', 'nbgrader']", probe.stdout
    course = settings.course_root(Path(pwd.getpwnam(INSTRUCTOR).pw_dir))
    for path in (course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", course / "gradebook.db",
                 course / "nbgrader_config.py", settings.env(INSTRUCTORS) / "bin" / "course"):
        assert path.exists(), path
        read = as_student(settings, f"open({str(path)!r}, 'rb').read()")
        assert read.returncode != 0 and "PermissionError" in read.stderr, f"a student can read {path}"
    # after a whole round (release, submissions, grading, feedback): nothing a student can read in the hub's
    # folders or the instructor's home holds a line of a solution or a hidden test of any assignment
    # lines also in what students get anyway (released notebooks, the runtime) are public: "except Exception as _e:"
    public = ANSWER + "".join(path.read_text() for path in [*(ROOT / "release").glob("*/*.ipynb"),
                                                               *(ROOT / "course_utils").glob("*.py")])
    secret = sorted({line for line in secret_lines() if line not in public})
    assert len(secret) > 100, "the source notebooks' solutions and hidden tests"
    places = [p for p in settings.root.iterdir() if p.name not in ("env", "instructor-env")]  # (libraries and the
    places.append(Path(pwd.getpwnam(INSTRUCTOR).pw_dir))  # runtime are checked above: they share generic lines)
    found = provision.as_user(STUDENT, ["grep", "-r", "-l", "-s", "-F", "-f", "-", *map(str, places)],
                              settings.environment(STUDENTS), input="\n".join(secret) + "\n")
    assert found.stdout == "" and found.returncode in (1, 2), f"solutions readable by a student: {found.stdout}"
