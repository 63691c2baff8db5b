"""spherescope from a script or a notebook: `spherescope.figure(...)`.

    import spherescope
    img = spherescope.figure("John and Mary went to the bar. John bought a drink for",
                             view="plane", tokens=" Mary, John", style="slide")
    img                                  # a PIL image: shown inline in Jupyter
    spherescope.figure(prompt, out="mary.png", size=(3840, 2160))   # or written to a file

It draws with the very code of `spherescope render` and the window's exports. The model
can be a reference (the embedded SmolLM2 by default, a folder, a .gguf file, a hub id)
or a transformers model and tokenizer already in memory, such as a fine-tuned model.
OpenGL needs a display: a desktop session, or Xvfb on a server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def figure(prompt: str | None = None, *, model: Any = "embedded", tokenizer: Any = None, view: str = "sphere",
           size: tuple[int, int] = (1280, 720), style: str = "slide", out: str | os.PathLike | None = None,
           tokens: str | None = None, compare: str | None = None, layer: int | None = None, position: int | None = None,
           basis: str | None = None, transparent: bool = False, annotations: str | list[str] | None = None,
           scene: str | os.PathLike | None = None, alpha: float | None = None, apply_alpha: bool = False,
           fps: float = 30.0, orbit: float = 0.0, seconds_per_layer: float = 0.25, device: str = "auto",
           dtype: str | None = None, model_name: str = "in-memory model", camera: str | None = None,
           whole_path: bool = False, steer: dict | None = None, alphas=None, head: str | None = None,
           prompts=None):
    """Draw one view of a prompt's trace. Returns a PIL image when `out` is None, else the
    path written (.png, .jpg, .svg; .mp4 or .gif for the layer sweep of the sphere).

    view: sphere, plane, attribution, heads, closest, confidence, norms, token-norms,
    roundtrip, tied, compare, patching, steer or set. head (view="heads"): "24.3", block 24's head 3.
    prompts: a prompt set (a .csv/.jsonl file, a list of prompts or dicts, a DataFrame): its
    bundle of paths on the sphere, or view="set": its lens and what moved it over the set.
    tokens: " Mary, John" (the plane's two tokens; a token-plane basis for the sphere; the
    target and contrast of patching).
    compare: a second prompt, drawn on the sphere beside the first; the corrupt prompt
    of view="patching" (the first is the clean one).
    camera: "plane" (straight above the token plane: the default with tokens), "top",
    "oblique", or "AZ,EL[,DIST]". whole_path: the sphere at one layer draws the path
    up to that layer unless this is True.
    steer (view="steer"): dict(layer=, toward=, away=, alpha=, position=), each optional
    (default: after the middle block, toward the second of `tokens` and away from the
    first, α marked if given); alphas: the α values ("LO:HI:N" or a list; default 21
    round values out to 3 x |h| at that layer).
    annotations: "all", "none", a list of title/model/layer/colorbar/key/kept, or None
    for the style's default (all for slides). Raises ValueError for a bad argument and
    spherescope's own errors (one sentence each) for bad input such as an empty prompt.
    """
    from spherescope.commands.render import FigureRequest, make_figure
    from spherescope.models.devices import load_options
    from spherescope.render.annotations import parse_annotations
    from spherescope.state.scene import load_scene

    loaded_scene = load_scene(scene) if scene is not None else None
    style_name = style or (loaded_scene.style if loaded_scene is not None else "dark")
    if isinstance(annotations, (list, tuple, set, frozenset)):
        annotations = ",".join(annotations) or "none"
    if isinstance(model, os.PathLike):
        model = str(model)
    req = FigureRequest(
        prompt=prompt, model=model if model is not None else "embedded", tokenizer=tokenizer, view=view,
        scene=loaded_scene, position=position, layer=layer, basis=basis, tokens=tokens, compare=compare,
        size=tuple(size),
        style=style_name, transparent=transparent,
        annotations=None if annotations is None else parse_annotations(annotations, style_name),
        apply_alpha=apply_alpha, alpha=alpha, fps=fps, orbit=orbit, seconds_per_layer=seconds_per_layer,
        out=Path(out) if out is not None else None, load_options=load_options(device, dtype), model_name=model_name,
        camera=camera, whole_path=whole_path, alphas=alphas, head=head, prompts=prompts,
        steer=None if steer is None else _steer_options(steer),
    )
    result, _what = make_figure(req)
    if out is not None:
        return Path(result)
    return _pil(result)


def _steer_options(steer) -> dict:
    if not isinstance(steer, dict) or set(steer) - {"layer", "toward", "away", "alpha", "position"}:
        raise ValueError("steer= takes a dict with any of layer, toward, away, alpha and position")
    return {k: steer.get(k) for k in ("layer", "toward", "away", "alpha", "position")}


def _pil(img):
    """A QImage as a PIL image (RGBA when it has transparency), which Jupyter shows inline."""
    import numpy as np
    from PIL import Image
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine() // 4, 4)
    rgba = arr[:, :w].copy()
    return Image.fromarray(rgba, "RGBA") if (rgba[..., 3] < 255).any() else Image.fromarray(rgba[..., :3], "RGB")
