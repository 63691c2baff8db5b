#!/usr/bin/env bash
# Build the frozen one-folder app from a clean checkout:  bash packaging/build.sh
# Result: dist/spherescope/spherescope (run it, or `bash packaging/smoke.sh` to check it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh                      # .venv with torch (CPU), the app and the embedded model
.venv/bin/python -m pip install --quiet "pyinstaller==6.22.3"

start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/pyinstaller/spherescope.spec
end=$(date +%s)

echo "built dist/spherescope in $((end - start)) s: $(du -sh dist/spherescope | cut -f1)"
echo "check it with: bash packaging/smoke.sh"
