#!/usr/bin/env bash
# Smoke check of the frozen app (after `bash packaging/build.sh`):
#   1. `spherescope --version` prints the version;
#   2. under Xvfb, the real window starts, opens a scene (the article's prompt, run
#      on the embedded model), renders one frame to PNG and exits 0;
#   3. the PNG is a 1280x720 picture that is not blank.
# It runs with empty HOME/config/cache folders, so it also proves the bundled GGUF
# converts on first use. Prints the folder size and the timings.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=${1:-dist/spherescope/spherescope}
[ -x "$APP" ] || { echo "smoke: $APP not found; run bash packaging/build.sh first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" HF_HUB_OFFLINE=1
mkdir -p "$HOME"

version=$("$APP" --version)
echo "smoke: $version"
[[ "$version" == spherescope\ * ]] || { echo "smoke: bad --version output" >&2; exit 1; }

cat > "$work/demo.spherescope" <<'SCENE'
{"format": "spherescope-scene", "version": 1, "model": "embedded",
 "prompt": "John and Mary went to the bar. John bought a drink for", "position": -1, "layer": 24,
 "basis": "unembedding-pca", "style": "slide"}
SCENE

run() {  # $1: label; the rest: the command
  local label=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  xvfb-run -a -s "-screen 0 1600x1000x24 +extension GLX" "$@"
  t1=$(date +%s%N)
  echo "smoke: $label $(( (t1 - t0) / 1000000 )) ms"
}
run "first start (converts the GGUF) to PNG:" "$APP" --snapshot "$work/first.png" "$work/demo.spherescope"
start=$(date +%s.%N)
SPHERESCOPE_REPORT_SHOWN=1 run "second start (cached model) to PNG:" "$APP" --snapshot "$work/frame.png" "$work/demo.spherescope" \
  | tee "$work/second.log"
shown=$(sed -n 's/^spherescope: window shown at //p' "$work/second.log")
awk -v a="$start" -v b="$shown" 'BEGIN { printf "smoke: launch to window shown (incl. starting Xvfb): %.2f s\n", b - a }'

python3 - "$work/frame.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1280, 720), (w, h)
# Decompress the image data: a blank frame compresses to almost nothing.
idat = b"".join(data[i + 8:i + 8 + struct.unpack(">I", data[i:i + 4])[0]]
                for i in range(8, len(data)) if data[i + 4:i + 8] == b"IDAT")
raw = zlib.decompress(idat)
distinct = len(set(raw[i:i + 3] for i in range(1, len(raw), 97)))
assert distinct > 50, f"the frame looks blank ({distinct} distinct colours sampled)"
print(f"smoke: frame {w}x{h}, {distinct} distinct colours sampled")
PY
[ -n "${SMOKE_KEEP:-}" ] && cp "$work/frame.png" "$SMOKE_KEEP"
echo "smoke: folder size $(du -sh "$(dirname "$APP")" | cut -f1)"
echo "smoke: OK"
