"""Scene files (.spherescope): JSON with a version number, never pickle.

A scene holds what is needed to make the same picture again: the model reference,
prompt, followed position, layer, basis (with its chosen tokens), camera, style, view
options and visible docks. Reading is strict about what it cannot use (corrupt JSON,
a newer version, wrong types) and lenient about what it can (missing optional keys
take their defaults), so files from older versions keep opening.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

from spherescope.core.atomic import atomic_write_text
from spherescope.core.text import encodable
from spherescope.state.session import BASIS_KINDS, Session

SCENE_VERSION = 1
# The exports' annotations (render.annotations.ANNOTATIONS; the state layer cannot import render).
ANNOTATIONS = ("title", "model", "layer", "colorbar", "key", "kept")
SUFFIX = ".spherescope"
STYLES = ("dark", "slide", "paper")


class SceneError(Exception):
    """The file is not a scene this version can open; str() is a user-facing sentence."""


@dataclass
class Scene:
    model: str = "embedded"
    prompt: str = ""
    position: int = -1
    layer: int = 0
    basis: str = "unembedding-pca"
    plane_tokens: list[int] = field(default_factory=list)
    camera: dict = field(default_factory=lambda: {"distance": 3.7, "elevation": 22.0, "azimuth": 12.0, "fov": 40.0, "center": [0.0, 0.0, 0.0]})
    style: str = "dark"
    show_cloud: bool = True
    color_by_length: bool = False
    length_as: str = "size"
    show_labels: bool = True
    docks: list[str] = field(default_factory=lambda: ["prompt", "layer", "basis"])
    alpha: float = 1.0  # the confidence lesson's scale on the vector the unembedding sees
    plane_scale: str = "log"  # the plane view's radius: "log" or "linear"
    prompt_labels: str = "labels"  # the prompt's tokens on the sphere: labels, dots or hidden
    annotations: list[str] | None = None  # exports' annotations; None: the style's default
    compare_prompt: str = ""  # a second prompt drawn beside the first ("" : none)
    steer: dict | None = None  # {"layer", "toward", "away", "alpha", "position"} (core.patching.SteerSpec)
    prompt_set: dict | None = None  # {"name", "rows": [{"prompt", "target"?, ...}], "shown", "in_plane", "page"}: traced on opening

    def to_json(self) -> str:
        data = {"format": "spherescope-scene", "version": SCENE_VERSION, **asdict(self)}
        return json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)


MAX_SCENE_BYTES = 5_000_000  # a real scene is a few kB; a bigger file is not one
MAX_DEPTH = 32  # a real scene nests 3 deep
INT32 = 2 ** 31  # positions, layers and token ids cross Qt signals as 32-bit ints


def _num(v, name: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SceneError(f"The scene's {name} is not a number.")
    if not lo <= v <= hi:
        raise SceneError(f"The scene's {name} ({v:g}) is out of range: it must be between {lo:g} and {hi:g}.")
    return float(v)


def _int(v, name: str, lo: int = -INT32, hi: int = INT32 - 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise SceneError(f"The scene's {name} is not a whole number.")
    if not lo <= v <= hi:
        raise SceneError(f"The scene's {name} ({v}) is out of range.")
    return v


def _short(value) -> str:
    """A value quoted in a message, cut: a hostile file's 'basis' can be megabytes."""
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


def _depth(value, limit: int) -> int:
    """How deeply lists and objects nest (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def scene_from_dict(data) -> Scene:
    _check_format(data)
    sc = Scene()
    for key in ("model", "prompt", "compare_prompt"):
        if key in data:
            if not isinstance(data[key], str):
                raise SceneError(f"The scene's {key} is not text.")
            if not encodable(data[key]):
                raise SceneError(f"The scene's {key} holds characters that are not valid Unicode "
                                 "(a lone surrogate escape).")
            setattr(sc, key, data[key])
    for key in ("position", "layer"):
        if key in data:
            setattr(sc, key, _int(data[key], key))
    if "plane_tokens" in data:
        sc.plane_tokens = _plane_tokens(data["plane_tokens"])
    if "camera" in data:
        sc.camera = _camera(data["camera"], sc.camera)
    for key in ("show_cloud", "color_by_length", "show_labels"):
        if key in data:
            if not isinstance(data[key], bool):
                raise SceneError(f"The scene's {key} is not true or false.")
            setattr(sc, key, data[key])
    for key, choices, why in _CHOICES:
        if key in data:
            if data[key] not in choices:
                raise SceneError(why.format(_short(data[key])))
            setattr(sc, key, data[key])
    if "alpha" in data:
        a = _num(data["alpha"], "alpha")
        if not 0.0 <= a <= 4.0:
            raise SceneError("The scene's alpha must be between 0 and 4.")
        sc.alpha = a
    if "annotations" in data and data["annotations"] is not None:
        notes = data["annotations"]
        if not isinstance(notes, list) or not all(isinstance(n, str) and n in ANNOTATIONS for n in notes):
            raise SceneError(f"The scene's annotations must be a list of: {', '.join(ANNOTATIONS)}.")
        sc.annotations = list(dict.fromkeys(notes))
    if data.get("steer") is not None:
        sc.steer = _steer(data["steer"])
    if data.get("prompt_set") is not None:
        sc.prompt_set = _prompt_set(data["prompt_set"])
    if "docks" in data:
        if not isinstance(data["docks"], list) or not all(isinstance(d, str) and encodable(d) for d in data["docks"]):
            raise SceneError("The scene's docks are not a list of names.")
        sc.docks = data["docks"]
    return sc


# Fields that take one of a few values: (key, the values, the sentence for another).
_CHOICES = (
    ("basis", BASIS_KINDS, "Unknown basis {} in the scene."),
    ("style", tuple(STYLES), "Unknown style {} in the scene."),
    ("length_as", ("size", "radius"), "The scene's length_as must be size or radius."),
    ("plane_scale", ("log", "linear"), "The scene's plane_scale must be log or linear."),
    ("prompt_labels", ("labels", "dots", "hidden"), "The scene's prompt_labels must be labels, dots or hidden."),
)


def _check_format(data) -> None:
    if not isinstance(data, dict) or data.get("format") != "spherescope-scene":
        raise SceneError("This file is not a spherescope scene.")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise SceneError("The scene has no valid version number.")
    if version > SCENE_VERSION:
        raise SceneError(
            f"This scene was saved by a newer spherescope (scene version {version}; this one reads up to "
            f"{SCENE_VERSION}); update spherescope to open it."
        )


def _plane_tokens(toks) -> list[int]:
    if not isinstance(toks, list) or not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < INT32
                                             for t in toks):
        raise SceneError("The scene's plane tokens are not token ids.")
    if len(set(toks[:3])) != len(toks[:3]):
        raise SceneError("The scene's plane tokens repeat a token: a plane needs different tokens.")
    return toks[:3]


def _camera(cam, base: dict) -> dict:
    if not isinstance(cam, dict):
        raise SceneError("The scene's camera is not valid.")
    merged = dict(base)
    ranges = {"distance": (0.01, 1000.0), "elevation": (-90.0, 90.0), "azimuth": (-1e6, 1e6), "fov": (1.0, 179.0)}
    for key, (lo, hi) in ranges.items():
        if key in cam:
            merged[key] = _num(cam[key], f"camera {key}", lo, hi)
    if "center" in cam:
        c = cam["center"]
        if not isinstance(c, list) or len(c) != 3:
            raise SceneError("The scene's camera centre is not valid.")
        merged["center"] = [_num(x, "camera centre", -1000.0, 1000.0) for x in c]
    return merged


def _prompt_set(data) -> dict:
    """A scene's prompt set, read as a set file is (JSON rows, never code)."""
    from spherescope.core.prompt_set import PromptSet, SetError
    from spherescope.state.features import SET_PAGES

    try:
        ps = PromptSet.from_json(data)
    except SetError as exc:
        raise SceneError(f"The scene's prompt set: {exc}") from None
    flags = {}
    for key, default in (("shown", True), ("in_plane", False)):
        flags[key] = data.get(key, default)
        if not isinstance(flags[key], bool):
            raise SceneError(f"The scene's prompt set {key!r} is not true or false.")
    page = data.get("page", "positions")
    if page not in SET_PAGES:
        raise SceneError(f"The scene's prompt set page {page!r} is not one of {', '.join(SET_PAGES)}.")
    return {**ps.to_json(), **flags, "page": page}


def _steer(st) -> dict:
    bad = SceneError("The scene's steer must have a layer, a toward token, an optional away token and position, "
                     "and a finite alpha.")
    if not isinstance(st, dict):
        raise bad

    def whole(key: str, optional: bool) -> int | None:
        v = st.get(key)
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not -INT32 <= v < INT32:
            raise bad
        return v

    out = {"layer": whole("layer", False), "toward": whole("toward", False), "away": whole("away", True),
           "alpha": _num(st.get("alpha"), "steering alpha"), "position": whole("position", True)}
    if out["layer"] < 0 or out["toward"] < 0 or (out["away"] is not None and out["away"] < 0):
        raise bad
    return out


def load_scene(path: str | os.PathLike) -> Scene:
    """A scene file, checked before it is read: a regular file (a FIFO would block the
    read forever), at most MAX_SCENE_BYTES, JSON nested at most MAX_DEPTH deep."""
    import stat

    name = os.path.basename(str(path))
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SceneError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise SceneError(f"Cannot read {path}: it is not a regular file.")
    if st.st_size > MAX_SCENE_BYTES:
        raise SceneError(f"{name} is {st.st_size / 1e6:.0f} MB: too large to be a scene (they are a few kB).")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SCENE_BYTES + 1)
    except OSError as exc:
        raise SceneError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SceneError(f"{name} is corrupt or truncated: it is not valid scene JSON.") from None
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise SceneError(f"{name} nests its data more than {MAX_DEPTH} deep: it is not a scene.")
    return scene_from_dict(data)


def save_scene(path: str | os.PathLike, scene: Scene) -> None:
    from spherescope.core.atomic import WriteError

    if os.path.isdir(path):
        raise WriteError(f"Cannot save the scene as {path}: it is a folder; give a file name.")
    atomic_write_text(path, scene.to_json())


# ---- scene <-> session: the one mapping, for the window and `spherescope render` ----

def scene_of(session: Session, camera: dict, docks: list[str], annotations=None) -> Scene:
    """What the session shows now, with the view's camera and the visible docks."""
    s = session
    return Scene(
        model=s.model_ref, prompt=s.prompt, position=s.position, layer=s.layer, basis=s.basis_kind,
        plane_tokens=[int(t) for t in s.plane_tokens], camera=dict(camera), style=s.appearance.style,
        show_cloud=s.appearance.show_cloud, color_by_length=s.appearance.color_by_length, length_as=s.appearance.length_as,
        show_labels=s.appearance.show_labels, docks=list(docks), alpha=float(s.alpha), plane_scale=s.appearance.plane_scale,
        prompt_labels=s.appearance.prompt_labels, annotations=None if annotations is None else sorted(annotations),
        compare_prompt=s.comparison.prompt, steer=None if s.steering.spec is None else asdict(s.steering.spec),
        prompt_set=None if s.sets.source is None else {**s.sets.source.to_json(), "shown": bool(s.sets.shown),
                                                        "in_plane": bool(s.sets.in_plane), "page": s.sets.page},
    )


def apply_view_options(scene: Scene, session: Session) -> None:
    """The scene's choices of how to draw (not its model, prompt or layer, which need
    a load and a run)."""
    s = session
    s.appearance.style = scene.style
    s.appearance.show_cloud, s.appearance.color_by_length = scene.show_cloud, scene.color_by_length
    s.appearance.length_as, s.appearance.show_labels = scene.length_as, scene.show_labels
    s.plane_tokens = tuple(scene.plane_tokens)
    s.basis_kind = scene.basis
    s.alpha = scene.alpha
    s.appearance.plane_scale = scene.plane_scale
    s.appearance.prompt_labels = scene.prompt_labels


CAMERAS = {
    "oblique": {"distance": 3.7, "elevation": 22.0, "azimuth": 12.0},
    # Straight above the plane of the basis's first two axes, the first pointing right:
    # with a token-plane basis, the article's figure seen on the sphere.
    "plane": {"distance": 3.2, "elevation": 90.0, "azimuth": -90.0},
}
CAMERAS["top"] = CAMERAS["plane"]


def parse_camera(text: str, base: dict | None = None) -> dict:
    """`plane`, `top`, `oblique` or `AZ,EL[,DIST]` (degrees, degrees, sphere radii) as a
    scene camera; ValueError (a sentence) for anything else."""
    cam = dict(base or Scene().camera)
    key = (text or "").strip().lower()
    if key in CAMERAS:
        cam.update(CAMERAS[key])
        cam["center"] = [0.0, 0.0, 0.0]
        return cam
    parts = [p.strip() for p in key.split(",")]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) not in (2, 3) or not all(math.isfinite(x) for x in nums):
        raise ValueError(f"--camera {text!r}: use plane, top, oblique or AZIMUTH,ELEVATION[,DISTANCE] "
                         "(e.g. 30,20 or 30,20,4)")
    az, el = nums[0], nums[1]
    if not -90.0 <= el <= 90.0:
        raise ValueError(f"--camera elevation {el:g} is out of range: -90 to 90 degrees.")
    cam.update(azimuth=az, elevation=el)
    if len(nums) == 3:
        if not 0.5 <= nums[2] <= 100.0:
            raise ValueError(f"--camera distance {nums[2]:g} is out of range: 0.5 to 100 sphere radii.")
        cam["distance"] = nums[2]
    return cam
