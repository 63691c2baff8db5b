#!/usr/bin/env bash
# Set everything up (first run only) and open the spherescope window.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "spherescope: no display found. Run this on a desktop session, or run it invisibly with:" >&2
  echo "  xvfb-run -a -s '-screen 0 1600x1000x24 +extension GLX' $0 $*" >&2
  exit 1
fi
exec "$ROOT/.venv/bin/python" -m spherescope "$@"
