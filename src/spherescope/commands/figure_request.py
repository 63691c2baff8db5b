"""What a figure is asked for (FigureRequest), and every argument of it checked before
any model work: `spherescope render` and `spherescope.figure` share both."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spherescope.core.atomic import check_writable
from spherescope.models.errors import PromptError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
ANIMATION_SUFFIXES = (".mp4", ".gif")
MAX_SIDE = 16384


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in str(text).lower().replace("×", "x").split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 1920x1080, not {text!r}") from None
    return check_size(w, h)


def check_size(w: int, h: int) -> tuple[int, int]:
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise ValueError(f"--size must be between 16 and {MAX_SIDE} pixels a side")
    return int(w), int(h)


class NoDisplay(RuntimeError):
    """No screen for Qt to open (display.display_problem says why)."""


class WrongThread(RuntimeError):
    """figure() called where Qt cannot draw: off the main thread, or during another call."""


@dataclass
class FigureRequest:
    """Everything a figure depends on. Fields left None come from the scene (when one is
    given), then from the defaults: the last layer, the scene's camera, the style's
    annotations."""

    prompt: str | None = None
    model: Any = None  # a reference ("embedded", a folder, a .gguf, a hub id) or a transformers model
    tokenizer: Any = None  # with an in-memory model
    view: str = "sphere"
    scene: Any = None  # state.scene.Scene
    position: int | None = None
    layer: int | None = None
    basis: str | None = None
    tokens: str | None = None  # ' Mary, John'
    camera: str | None = None  # plane | top | oblique | AZ,EL[,DIST]; default: above the plane with tokens
    whole_path: bool = False  # a picture of one layer draws the path up to it, unless this
    compare: str | None = None  # a second prompt (the corrupt one of the patching view)
    steer: dict | None = None  # --view steer: layer, toward, away, alpha (the one marked), position; None: defaults
    alphas: tuple | None = None  # --view steer's α values (None: 21 round values out to 3 x |h|)
    head: str | None = None  # --view heads: "BLOCK.HEAD", e.g. "24.3"
    prompts: Any = None  # a prompt set (a file, a list, a DataFrame): its bundle on the sphere; --view set
    size: tuple[int, int] = (1920, 1080)
    style: str | None = None
    transparent: bool = False
    annotations: frozenset | None = None
    apply_alpha: bool = False
    alpha: float | None = None
    fps: float = 30.0
    orbit: float = 0.0
    seconds_per_layer: float = 0.25
    out: Path | None = None
    load_options: dict = field(default_factory=dict)
    model_name: str = "in-memory model"
    reading: tuple = ()  # the files the request reads (a scene file): --out never replaces one


def validate(req: FigureRequest) -> FigureRequest:
    """Every argument checked before any model work (a load takes seconds): one
    sentence (ValueError) for the first that is wrong."""
    from spherescope.widgets.figures import NEEDS_TOKENS, VIEWS

    if req.view not in VIEWS:
        raise ValueError(f"unknown view {req.view!r}: choose from {', '.join(VIEWS)}")
    w, h = check_size(*req.size)
    suffix = req.out.suffix.lower() if req.out is not None else ""
    if req.out is not None and suffix not in IMAGE_SUFFIXES + ANIMATION_SUFFIXES:
        raise ValueError("--out must end in .png, .jpg, .svg, .mp4 or .gif")
    if suffix in ANIMATION_SUFFIXES:
        if req.view != "sphere":
            raise ValueError(f"--view {req.view} is a picture: --out must end in .png, .jpg or .svg")
        if req.layer is not None:
            raise ValueError("an animation sweeps all layers: drop --layer or use a .png")
        if suffix == ".mp4" and (w % 2 or h % 2):
            raise ValueError("MP4 video needs an even width and height in --size")
    for name, value, lo, hi in (("--fps", req.fps, 1, 120), ("--speed", req.seconds_per_layer, 0.01, 10),
                                ("--orbit", req.orbit, -3600, 3600)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"{name} must be a number between {lo} and {hi}")
    if req.alpha is not None and not (math.isfinite(req.alpha) and 0 <= req.alpha <= 4):
        raise ValueError("--alpha must be between 0 and 4")
    if req.view in NEEDS_TOKENS and req.tokens is None and req.prompts is None and \
            (req.scene is None or len(req.scene.plane_tokens) < 2):  # a set brings each prompt's own pair
        raise ValueError(f"--view {req.view} needs two tokens: --tokens ' Mary, John' (or a scene with plane tokens)")
    compare = req.compare if req.compare is not None else (req.scene.compare_prompt if req.scene is not None else "")
    if req.view in ("compare", "patching", "head-patching") and not (compare and compare.strip()):
        raise ValueError(f"--view {req.view} needs a second prompt: --compare 'the counterfactual prompt'")
    if req.compare is not None and not req.compare.strip():
        raise ValueError("--compare is empty: give the second prompt")
    if req.tokens is not None and not req.tokens.strip(", "):
        raise ValueError("--tokens is empty: give tokens separated by commas, e.g. ' Mary, John'")
    _validate_set(req)
    prompt = req.prompt if req.prompt is not None else (req.scene.prompt if req.scene is not None else "")
    if (not prompt or not prompt.strip()) and req.prompts is None:
        raise PromptError("The prompt is empty: pass --prompt or a --scene that has one.")
    if req.camera is not None:
        from spherescope.state.scene import parse_camera

        parse_camera(req.camera)  # refused before any load
    _validate_steer(req)
    _validate_head(req)
    if req.out is not None:
        check_writable(req.out, reading=(*req.reading, req.model if isinstance(req.model, (str, Path)) else None))
    return req


def parse_alphas(text) -> tuple[float, ...]:
    """--alphas: "LO:HI:N" (N evenly spaced values) or "A,B,C", or a list of numbers."""
    import numpy as np

    try:
        if isinstance(text, str) and ":" in text:
            lo, hi, n = text.split(":")
            if int(n) < 2 or int(n) > 201:
                raise ValueError
            values = tuple(float(v) for v in np.linspace(float(lo), float(hi), int(n)))
        else:
            values = tuple(float(v) for v in (text.split(",") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        raise ValueError("--alphas takes LO:HI:N (2 to 201 values) or a list such as -40,-20,0,20,40") from None
    if not 2 <= len(values) <= 201 or not all(math.isfinite(v) for v in values):
        raise ValueError("--alphas needs 2 to 201 finite numbers")
    return tuple(sorted(set(values)))


def _validate_set(req: FigureRequest) -> None:
    """--prompts read (a bad set refused before any load); --view set needs one."""
    if req.prompts is not None:
        from spherescope.core.prompt_set import SetError, as_prompt_set

        try:
            req.prompts = as_prompt_set(req.prompts)
        except SetError as exc:
            raise PromptError(str(exc)) from None
    elif req.view == "set" and (req.scene is None or req.scene.prompt_set is None):
        raise ValueError("--view set draws a prompt set: give it with --prompts FILE.csv")


def _validate_head(req: FigureRequest) -> None:
    """--view heads draws one block's head: --head BLOCK.HEAD, its block the layer shown."""
    if req.view != "heads":
        if req.head is not None:
            raise ValueError("--head draws --view heads (one attention head): add --view heads")
        return
    if req.head is None:
        raise ValueError("--view heads needs a head: --head 24.3 (block 24, head 3)")
    from spherescope.core.heads import parse_head

    block, _head = parse_head(req.head)
    if req.layer is not None and req.layer != block:
        raise ValueError(f"--layer {req.layer} is not the block of --head {req.head}: drop --layer")
    req.layer = block


def _validate_steer(req: FigureRequest) -> None:
    steer = req.steer or {}
    if req.view != "steer":
        if any(v is not None for v in steer.values()) or req.alphas is not None:
            raise ValueError("--steer-* and --alphas draw --view steer (the dose-response curve): add --view steer")
        return
    if steer.get("layer") is not None and int(steer["layer"]) < 0:
        raise ValueError("--steer-layer must be 0 (the embeddings) or more")
    if steer.get("alpha") is not None and not math.isfinite(float(steer["alpha"])):
        raise ValueError("--steer-alpha must be a finite number")
    if steer.get("toward") is not None and steer.get("toward") == steer.get("away"):
        raise ValueError("--steer-away is the same token as --steer-toward: there is no direction between them")
    if req.alphas is not None:
        req.alphas = parse_alphas(req.alphas)
