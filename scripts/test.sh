#!/usr/bin/env bash
# Set up and run every test: lint, then pytest (SQLite and, where reachable, PostgreSQL and Redis).
# Usage: bash scripts/test.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lti,dev
venv="${VENV:-.venv}"
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
"$venv/bin/python" -m pytest "$@"
