#!/usr/bin/env bash
# Static checks CI runs before the tests: ruff (style and bug patterns) and mypy (types), configured in pyproject.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
python -m ruff check src tests benchmarks
python -m mypy
