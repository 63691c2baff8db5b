"""The 3-D view as a figure for a talk or a paper: in any style, at any size, antialiased,
with its annotations, optionally transparent; as PNG, JPEG or SVG.

One function serves the window's Export Image, `spherescope render` and the Python API,
so the three give the same picture for the same scene.
"""

from __future__ import annotations

import base64
import os
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtGui import QImage

from spherescope.core.atomic import atomic_write_bytes
from spherescope.render.annotations import facts_of, paint_sphere_annotations
from spherescope.render.export import image_bytes, save_image
from spherescope.render.styles import STYLES

FIGURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")


@contextmanager
def styled(binding, style_name: str, apply_alpha: bool = False, overlay: bool = True):
    """Draw with another style (and α only if asked) while inside; the session and the
    screen are as they were afterwards. (An animation sets its style once for all its
    frames, so each frame finds the view already in it.)"""
    current = binding.view.style.name
    had_alpha, had_overlay = binding.alpha_applied, binding.show_overlay
    binding.alpha_applied = apply_alpha
    binding.show_overlay = overlay
    if style_name != current:
        binding.on_style(style_name)
    else:
        binding.on_alpha()
        binding.on_overlay()
    try:
        yield STYLES.get(style_name, STYLES["dark"])
    finally:
        binding.alpha_applied, binding.show_overlay = had_alpha, had_overlay
        if style_name != current:
            binding.on_style(current)
        else:
            binding.on_alpha()
            binding.on_overlay()


def sphere_image(binding, width: int, height: int, style_name: str = "dark", transparent: bool = False,
                 annotations: frozenset[str] = frozenset(), apply_alpha: bool = False, antialias: bool = True,
                 layer: float | None = None, whole_path: bool = False) -> QImage:
    """The 3-D view of the binding's session as a picture. The view's own corner text
    gives way to the annotations when there are any (they say the same, for an audience).
    The path ends at the layer shown (what a picture of layer 24 says), unless
    `whole_path`."""
    view = binding.view
    revealing = getattr(getattr(view, "trajectory", None), "reveal", None)
    if not whole_path and revealing is False:
        view.set_reveal(True)
        try:
            return sphere_image(binding, width, height, style_name, transparent, annotations, apply_alpha, antialias,
                                layer, whole_path=True)
        finally:
            view.set_reveal(False)
    with styled(binding, style_name, apply_alpha, overlay=not annotations) as style:
        facts = facts_of(binding.s, layer)

        def decorate(painter, rect, scale, dry):
            return paint_sphere_annotations(painter, rect, facts, style, scale, annotations, dry)

        # Title lines take the top of the picture: the camera steps back a little so the
        # sphere clears them.
        distance = view.opts["distance"]
        if annotations & {"title", "model", "kept"}:
            view.opts["distance"] = distance * 1.12
        try:
            return view.render_image(width, height, transparent=transparent, antialias=antialias,
                                     font_size=style.export_font_size, overlay=not annotations, decorate=decorate)
        finally:
            view.opts["distance"] = distance


def svg_wrapping(img: QImage, title: str = "spherescope") -> bytes:
    """An SVG that holds the picture (the 3-D view is pixels; an SVG lets it go where
    only SVG is taken, and every SVG reader draws an embedded PNG the same)."""
    png = base64.b64encode(image_bytes(img, "PNG")).decode("ascii")
    w, h = img.width(), img.height()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n<title>{title}</title>\n'
            f'<image width="{w}" height="{h}" xlink:href="data:image/png;base64,{png}"/>\n</svg>\n').encode("utf-8")


def save_figure(img: QImage, path: str | os.PathLike) -> Path:
    """PNG, JPEG or SVG by the file's suffix, written atomically."""
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        return atomic_write_bytes(path, svg_wrapping(img))
    return save_image(img, path)
