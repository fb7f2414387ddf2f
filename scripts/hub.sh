#!/usr/bin/env bash
# A demo JupyterHub of the course on this machine (as root): PAM users (an instructor, two students),
# JupyterLab, nbgrader by role, the course released. Prints the URL and the logins, then serves
# until Ctrl-C. Options go to `course hub setup` (see `.venv/bin/course hub setup --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "error: the hub creates users and serves as them: run sudo bash scripts/hub.sh" >&2; exit 1; }
bash scripts/bootstrap.sh
.venv/bin/course data fetch
export COURSE_HUB_ROOT=${COURSE_HUB_ROOT:-/srv/mi-course-hub}
.venv/bin/course hub setup --root "$COURSE_HUB_ROOT" "$@"
export COURSE_HUB_SETTINGS=$COURSE_HUB_ROOT/hub.json
exec .venv/bin/jupyterhub -f deploy/jupyterhub_config.py
