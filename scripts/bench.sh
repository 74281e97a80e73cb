#!/usr/bin/env bash
# Benchmark the LTI tool under gunicorn with wrk (installs wrk from Debian when missing).
# Usage: bash scripts/bench.sh [bench/bench_lti.py ARGS...]   e.g. --runs 5 --seconds 5 --no-postgres
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lti,dev
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
exec "${VENV:-.venv}/bin/python" bench/bench_lti.py "$@"
