#!/usr/bin/env bash
# The main job: set up, fetch the data, release the assignments and autograde the demo class end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/course data fetch
exec .venv/bin/course demo "$@"
