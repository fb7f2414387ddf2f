#!/usr/bin/env bash
# The whole test suite: unit tests, nbval on every source notebook, release checks, corpus grading.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/course data fetch
export MPLBACKEND=Agg PYTHONWARNINGS=ignore::DeprecationWarning
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadscope --nbval-lax \
  --nbval-sanitize-with tests/nbval_sanitize.cfg tests source "$@"
