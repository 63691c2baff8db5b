#!/usr/bin/env bash
# Set everything up (first run only), check the layering contracts, and run the whole
# test suite under Xvfb.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# No network at test time: every model comes from disk or is built in the test.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The import contracts in pyproject.toml (layers, no Qt or torch below the widgets, no cycles).
"$ROOT/.venv/bin/lint-imports" --no-cache
# pytest-xvfb starts a private Xvfb with GLX (Mesa llvmpipe) for the GUI tests.
unset WAYLAND_DISPLAY
exec "$ROOT/.venv/bin/python" -m pytest "$@"
