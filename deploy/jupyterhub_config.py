"""JupyterHub of the Week-1 course: system users (PAM), one local process per user, JupyterLab,
and nbgrader by role (students: assignment list and Validate; instructors: formgrader too).

Everything that varies (folders, ports, group names) comes from the hub's settings file, written by
``course hub setup`` (``scripts/hub.sh``) and named by ``COURSE_HUB_SETTINGS``
(default ``/srv/mi-course-hub/hub.json``). Run as root: ``jupyterhub -f deploy/jupyterhub_config.py``.
"""
from course_grader.hub.settings import HubSettings

c = get_config()  # noqa: F821 (provided by JupyterHub)
hub = HubSettings.load()

# ---- network: the proxy faces the browsers; the hub and the proxy's API stay on loopback ----------
c.JupyterHub.bind_url = f"http://{hub.ip}:{hub.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [hub.proxy_command]
c.ConfigurableHTTPProxy.pid_file = str(hub.state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub.state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True

# ---- who may log in: the course's two groups, nobody else --------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {hub.students_group, hub.instructors_group}

# ---- one process per user, as that user, with the environment and configuration of the user's role ----
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def by_role(spawner) -> None:
    """Students get the students' environment and configuration, instructors theirs."""
    role = hub.role_of(spawner.user.name)
    spawner.cmd = hub.server_command(role)
    spawner.environment.update(hub.environment(role))


c.Spawner.pre_spawn_hook = by_role
