#!/usr/bin/env bash
# Create (or update) the virtualenv with uv: ~25 s fresh instead of ~150 s with pip.
# usage: scripts/venv.sh VENV EXTRAS   (EXTRAS e.g. "demo" or "test,demo")
set -euo pipefail
VENV=${1:-.venv}
EXTRAS=${2:-demo}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check uv
fi
"$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -e ".[$EXTRAS]"
