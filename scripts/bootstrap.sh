#!/usr/bin/env bash
# Create .venv and install everything the course needs, on a bare machine. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# torch first, pinned: this machine keeps the CPU build of 2.13.0 on disk (any other spec downloads gigabytes).
# TORCH_SPEC=system: use the torch the machine's Python already has (a GPU server's CUDA build).
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
# COURSE_WHEELHOUSE=DIR: install offline from a wheelhouse built by scripts/build_wheelhouse.sh.
WHEELHOUSE=${COURSE_WHEELHOUSE:-}
offline=()
[ -z "$WHEELHOUSE" ] || offline=(--no-index --find-links "$(cd "$WHEELHOUSE" && pwd)")
# Debian packages: bubblewrap (the sandbox of `course grade`) and the PostgreSQL server (its
# gradebook test; SQLite stays the default). Installed when running as root, else a hint.
apt_need() {  # apt_need PACKAGE TEST-COMMAND...
  local package=$1; shift
  "$@" >/dev/null 2>&1 && return 0
  if [ -n "$WHEELHOUSE" ]; then
    echo "warning: offline install: $package is missing; install it from the server's own packages" >&2
  elif [ "$(id -u)" = 0 ]; then
    apt-get install -y -q "$package" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$package" >/dev/null; }
  else
    echo "warning: run 'sudo apt-get install $package' (some features and tests need it)" >&2
  fi
}
apt_need bubblewrap command -v bwrap
apt_need postgresql sh -c 'ls /usr/lib/postgresql/*/bin/initdb'
# the JupyterHub demo (scripts/hub.sh) and its browser test: Node for the proxy, Debian's chromium
apt_need npm command -v npm
apt_need chromium command -v chromium
# JupyterHub's proxy, from the npm registry, beside the environment (kept out of git with it)
PROXY_SPEC=configurable-http-proxy@4.6.3
if [ ! -x .venv/hub-proxy/node_modules/.bin/configurable-http-proxy ] && command -v npm >/dev/null; then
  npm install --prefix .venv/hub-proxy --no-fund --no-audit --loglevel=error "$PROXY_SPEC" >/dev/null \
    || echo "warning: npm could not install $PROXY_SPEC (scripts/hub.sh needs it)" >&2
fi
stamp=.venv/.installed
want="$(cat pyproject.toml requirements-lock.txt scripts/bootstrap.sh | sha256sum | cut -c1-16) $TORCH_SPEC"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setting up .venv (python, torch, keras, nbgrader, jupyter, pytest, nbval)..."
if [ "$TORCH_SPEC" = system ]; then
  "$PYTHON" -c "import torch" || { echo "TORCH_SPEC=system but $PYTHON has no torch" >&2; exit 1; }
  [ -x .venv/bin/python ] || "$PYTHON" -m venv --system-site-packages .venv
else
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
fi
pipq() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "${offline[@]}" "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
[ -n "$WHEELHOUSE" ] || pipq --upgrade pip
[ "$TORCH_SPEC" = system ] || pipq "$TORCH_SPEC"
# every release pinned by requirements-lock.txt (scripts/lock_requirements.sh writes it)
pipq -c requirements-lock.txt -e ".[dev,hub]"
KERAS_BACKEND=torch .venv/bin/python -c "import torch, keras, nbgrader, nbval, course_utils" || { echo "installation incomplete" >&2; exit 1; }
echo "$want" > "$stamp"
