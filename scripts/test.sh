#!/usr/bin/env bash
# The project's test command (README and CI): install if needed, lint, type-check, check the data, run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/ticketguard data check
.venv/bin/python -m pytest "$@"
