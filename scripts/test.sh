#!/usr/bin/env bash
# `make test`: install what the tests need, start PostgreSQL and S3, run the whole suite,
# stop what was started. Works on a fresh Debian machine as root.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
source scripts/services.sh
trap services_stop EXIT

apt_install_missing postgresql chromium
# Node.js (for the JSDoc type check) may come from another source than Debian's package.
command -v npm >/dev/null || apt_install_missing nodejs npm
_lap "system packages"
bash scripts/venv.sh "$VENV" "test,demo,vision,embeddings"
_lap "virtualenv"
start_postgres
start_s3 "$VENV"

"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks
"$VENV/bin/mypy"
_lap "ruff + mypy"
if [ -f src/truthset/web/package.json ]; then
  (cd src/truthset/web && npm install --no-audit --no-fund --silent && npx --no-install tsc -p tsconfig.json)
  _lap "tsc --checkJs"
fi

export TRUTHSET_TEST_REQUIRE_SERVICES=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
_lap "pytest"
