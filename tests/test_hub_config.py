"""The hub's configuration files, read as JupyterHub, Jupyter Server, JupyterLab and nbgrader read them
(no hub started: `test_hub_browser.py` runs the real one)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader

from course_grader.hub.settings import COURSE_ID, INSTRUCTORS, SETTINGS_ENV, STUDENTS, HubSettings
from course_grader.paths import course_root

ROOT = course_root()
DEPLOY = ROOT / "deploy"


def load(path: Path):
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def test_settings_survive_their_file(tmp_path: Path) -> None:
    hub = HubSettings(root=tmp_path, port=18123, instructor="teacher")
    loaded = HubSettings.load(hub.save())
    assert loaded == hub
    with pytest.raises(FileNotFoundError, match="scripts/hub.sh"):
        HubSettings.load(tmp_path / "missing.json")


def test_each_role_gets_its_own_environment_and_configuration(tmp_path: Path) -> None:
    hub = HubSettings(root=tmp_path)
    students, instructors = hub.environment(STUDENTS), hub.environment(INSTRUCTORS)
    assert students["JUPYTER_CONFIG_PATH"] != instructors["JUPYTER_CONFIG_PATH"]
    assert students["PATH"].startswith(str(tmp_path / "env" / "bin"))
    assert instructors["PATH"].startswith(str(tmp_path / "instructor-env" / "bin"))
    for env in (students, instructors):
        assert env["KERAS_BACKEND"] == "torch" and env["COURSE_DATA_MIRROR"] == str(tmp_path / "data")
        assert env["COURSE_EXCHANGE_ROOT"] == str(tmp_path / "exchange")
    assert hub.server_command(STUDENTS)[0] == str(tmp_path / "env" / "bin" / "python")
    assert hub.role_of("no-such-user-anywhere") == STUDENTS
    assert HubSettings(root=tmp_path, instructors_group="root").role_of("root") == INSTRUCTORS


def test_the_course_id_is_the_courses_own() -> None:
    assert load(ROOT / "nbgrader_config.py").CourseDirectory.course_id == COURSE_ID


def test_jupyterhub_config_serves_the_course_groups_by_role(tmp_path: Path, monkeypatch) -> None:
    hub = HubSettings(root=tmp_path, port=18500, hub_port=18501, proxy_api_port=18502,
                      instructors_group="root", students_group="nogroup")
    monkeypatch.setenv(SETTINGS_ENV, str(hub.save()))
    c = load(DEPLOY / "jupyterhub_config.py")
    assert c.JupyterHub.bind_url == "http://127.0.0.1:18500"
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.PAMAuthenticator.allowed_groups == {"root", "nogroup"}
    assert c.JupyterHub.spawner_class == "localprocess" and c.Spawner.default_url == "/lab"
    for user, role in (("root", INSTRUCTORS), ("nobody", STUDENTS)):
        spawner = SimpleNamespace(user=SimpleNamespace(name=user), cmd=None, environment={})
        c.Spawner.pre_spawn_hook(spawner)
        assert spawner.cmd == hub.server_command(role)
        assert spawner.environment["JUPYTER_CONFIG_PATH"] == str(hub.config_dir(role))


def test_students_get_the_assignment_list_and_validate_only() -> None:
    students = DEPLOY / "jupyter" / STUDENTS
    server = json.loads((students / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert server == {"nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False,
                      "nbgrader.server_extensions.assignment_list": True,
                      "nbgrader.server_extensions.validate_assignment": True}
    lab = json.loads((students / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    for plugin in ("formgrader", "create-assignment", "course-list"):
        assert lab[f"@jupyter/nbgrader:{plugin}"] is True
    assert not any(k.endswith(("assignment-list", "validate-assignment")) for k in lab)
    # the students' nbgrader configuration needs nothing of the grader (students do not have it)
    text = (students / "nbgrader_config.py").read_text()
    assert "course_grader" not in text
    c, course = load(students / "nbgrader_config.py"), load(ROOT / "nbgrader_config.py")
    assert c.CourseDirectory.course_id == COURSE_ID
    assert (c.Execute.timeout, c.Execute.extra_arguments) == (course.Execute.timeout, course.Execute.extra_arguments), \
        "Validate runs the notebook as grading does"


def test_instructors_work_in_their_private_course_with_its_configuration(tmp_path: Path, monkeypatch) -> None:
    course = tmp_path / "home" / "mi-week1"
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COURSE_EXCHANGE_ROOT", "/srv/x/exchange")
    monkeypatch.delenv("COURSE_ROOT", raising=False)
    c = load(DEPLOY / "jupyter" / INSTRUCTORS / "nbgrader_config.py")
    assert c.CourseDirectory.root == str(course)
    assert c.Exchange.root == "/srv/x/exchange"
    assert "GradeInSandbox" in str(c.Autograde.autograde_preprocessors), "the course's own grading configuration"
    server = load(DEPLOY / "jupyter" / INSTRUCTORS / "jupyter_server_config.py")
    assert server.ServerApp.tornado_settings["headers"]["Content-Security-Policy"] == "frame-ancestors 'self'"
