#!/usr/bin/env bash
# Set up a fresh machine for CE Credit: system packages (when missing) and the .venv virtualenv.
# Usage: bash scripts/setup.sh [EXTRAS]   (EXTRAS defaults to "lti"; the tests use "lti,dev")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-lti}"

# System packages: chromium for the browser tests, poppler-utils for pdftoppm/pdftotext,
# zbar-tools to decode QR codes, gettext for msgfmt, fonts-nanum for Korean names. Only the tests need them.
if [[ "$extras" == *dev* ]]; then
  need=()
  command -v chromium >/dev/null || need+=(chromium)
  command -v pdftoppm >/dev/null || need+=(poppler-utils)
  command -v zbarimg >/dev/null || need+=(zbar-tools)
  command -v msgfmt >/dev/null || need+=(gettext)
  [[ -d /usr/share/fonts/truetype/nanum ]] || need+=(fonts-nanum)  # Korean names on certificates
  command -v npm >/dev/null || need+=(nodejs npm)                    # axe-core for the accessibility tests
  if ((${#need[@]})); then
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "Installing system packages: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# Python: prefer 3.12 (XBlock 6.3, Open edX Verawood); 3.11 works too (XBlock 6.1 or 5.x).
py="${PYTHON:-}"
if [[ -z "$py" ]]; then
  # pyenv puts shims on PATH that exist but fail for versions not selected, so try each one.
  for cand in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python python3.11 python3; do
    if "$cand" -c "import sys; assert sys.version_info >= (3, 11)" >/dev/null 2>&1; then py="$cand"; break; fi
  done
  if [[ -z "$py" ]]; then
    echo "CE Credit needs Python 3.11 or 3.12 (with venv); none was found." >&2
    exit 1
  fi
fi
venv="${VENV:-.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "Creating $venv with $("$py" --version)"
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
"$venv/bin/python" -m pip install -q -e ".[$extras]"

# axe-core (pinned in tests/a11y/package-lock.json) for the accessibility tests.
if [[ "$extras" == *dev* && ! -d tests/a11y/node_modules/axe-core ]]; then
  npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
fi
