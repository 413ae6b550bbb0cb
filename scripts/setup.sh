#!/usr/bin/env bash
# Create .venv and install TicketGuard with its test dependencies (idempotent).
# torch is pinned to the CPU build 2.13.0; pip's configured find-links/index provide it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "TicketGuard installed in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
