"""Where a course hub keeps everything, and what each role's servers see (no side effects here).

One JSON file, ``<root>/hub.json``, written by :mod:`course_grader.hub.provision` and read by
``deploy/jupyterhub_config.py`` (``COURSE_HUB_SETTINGS`` names it), so the hub and its set-up can
never disagree about a path or a port.
"""
from __future__ import annotations

import grp
import json
import os
import pwd
from dataclasses import asdict, dataclass
from pathlib import Path

#: What ``deploy/jupyterhub_config.py`` reads when ``COURSE_HUB_SETTINGS`` is not set.
DEFAULT_SETTINGS = Path("/srv/mi-course-hub/hub.json")
SETTINGS_ENV = "COURSE_HUB_SETTINGS"
#: nbgrader's course id (the course's nbgrader_config.py says the same; a test keeps them equal).
COURSE_ID = "mi-deep-learning-week1"
STUDENTS, INSTRUCTORS = "students", "instructors"


@dataclass
class HubSettings:
    """One course hub on one server."""

    root: Path                      # everything the hub owns (root-owned, 755; hub state 700)
    port: int = 8000                # where browsers connect (the proxy, on ``ip``)
    ip: str = "127.0.0.1"
    hub_port: int = 8081            # the hub's own API (loopback)
    proxy_api_port: int = 8001      # the proxy's REST API (loopback)
    proxy_command: str = "configurable-http-proxy"
    instructors_group: str = "course-instructors"
    students_group: str = "course-students"
    instructor: str = "instructor"  # whose home holds the course folder
    course_folder: str = "mi-week1"  # the course folder's name in the instructor's home
    course_id: str = COURSE_ID

    # ---- paths ---------------------------------------------------------------------------------
    @property
    def state(self) -> Path:
        """The hub's database and cookie secret (root only)."""
        return self.root / "hub"

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange: world-writable with the sticky bit, as nbgrader needs."""
        return self.root / "exchange"

    @property
    def data(self) -> Path:
        """A verified copy of the banknote data, the students' ``COURSE_DATA_MIRROR`` (no internet needed)."""
        return self.root / "data"

    def env(self, role: str) -> Path:
        """The Python environment of ``role``'s servers and kernels."""
        return self.root / ("env" if role == STUDENTS else "instructor-env")

    def config_dir(self, role: str) -> Path:
        """``role``'s Jupyter configuration (nbgrader, server extensions, Lab extensions)."""
        return self.root / "etc" / role

    def course_root(self, home: Path) -> Path:
        return home / self.course_folder

    # ---- roles ---------------------------------------------------------------------------------
    def role_of(self, user: str) -> str:
        """INSTRUCTORS for members of the instructors' group, STUDENTS for everyone else."""
        try:
            group = grp.getgrnam(self.instructors_group)
        except KeyError:
            return STUDENTS
        try:
            primary = pwd.getpwnam(user).pw_gid == group.gr_gid
        except KeyError:
            primary = False
        return INSTRUCTORS if primary or user in group.gr_mem else STUDENTS

    def server_command(self, role: str) -> list[str]:
        """The single-user server of ``role``: JupyterHub's, from the role's own environment."""
        return [str(self.env(role) / "bin" / "python"), "-m", "jupyterhub.singleuser"]

    def environment(self, role: str) -> dict[str, str]:
        """What ``role``'s servers, kernels and terminals get (besides JupyterHub's own variables)."""
        env = self.env(role)
        return {
            "PATH": f"{env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "KERAS_BACKEND": "torch",
            "COURSE_DATA_MIRROR": str(self.data),
            "COURSE_EXCHANGE_ROOT": str(self.exchange),
            "COURSE_ID": self.course_id,
            "COURSE_FOLDER": self.course_folder,
            "JUPYTER_CONFIG_PATH": str(self.config_dir(role)),
            "PYTHONNOUSERSITE": "1",  # a student's ~/.local never shadows the course's packages
        }

    # ---- file ----------------------------------------------------------------------------------
    @property
    def file(self) -> Path:
        return self.root / "hub.json"

    def save(self) -> Path:
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        self.file.write_text(json.dumps(data, indent=2) + "\n")
        return self.file

    @classmethod
    def load(cls, path: Path | None = None) -> "HubSettings":
        path = Path(path or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS)
        if not path.is_file():
            raise FileNotFoundError(f"no hub settings at {path}: run `sudo bash scripts/hub.sh` (or "
                                    f"`course hub setup`) first, or set {SETTINGS_ENV}")
        data = json.loads(path.read_text())
        data["root"] = Path(data["root"])
        return cls(**data)
