#!/usr/bin/env bash
# Run the whole local stack: Temporal dev server, embedded PostgreSQL, worker, demo data.
# Options go to `khuyencong dev` (--port, --ui-port, --no-seed, --data-dir).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

exec .venv/bin/khuyencong dev "$@"
