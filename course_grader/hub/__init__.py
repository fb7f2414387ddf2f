"""The course's JupyterHub: its settings (read by ``deploy/jupyterhub_config.py``) and its set-up.

``course hub setup`` (run by ``scripts/hub.sh`` as root) creates the users and groups, the students'
and the instructors' Python environments, the private course folder, the nbgrader exchange and the
data mirror, and releases the course; ``jupyterhub -f deploy/jupyterhub_config.py`` then serves it.
"""
