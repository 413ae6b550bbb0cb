#!/usr/bin/env bash
# Create .venv and install TicketGuard with its test tools, pinned by requirements/lock.txt (idempotent).
# torch is pinned to the CPU build 2.13.0; pip's configured find-links/index provide it.
# Refresh the lock after changing dependencies:
#   .venv/bin/pip-compile --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
#       --output-file requirements/lock.txt pyproject.toml   (then pin torch==2.13.0 without +cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements/lock.txt "torch==2.13.0"
.venv/bin/python -m pip install --quiet -c requirements/lock.txt -e ".[dev]"
echo "TicketGuard installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
