#!/usr/bin/env bash
# Set up CE Credit and run the demo: the LTI tool with the example activities and a small local
# LMS to launch it from, on the embedded default (SQLite, no other servers).
# Usage: bash scripts/demo.sh [ce-credit demo options, e.g. --port 8000]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh lti
exec .venv/bin/ce-credit demo "$@"
