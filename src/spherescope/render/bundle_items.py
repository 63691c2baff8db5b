"""A prompt set's bundle on the sphere: every prompt's path as a thin translucent arc
line, the median path bold, a dot per prompt at the current layer (the layer slider
moves them all together) and the prompt pointed at drawn out in full.

Prompts whose target loses to its contrast are drawn in a warm colour, the others in a
cool one, so a set's failures stand out as a strand of their own.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl

from spherescope.render.shapes import clear_colors, slerp_path

COOL = (0.42, 0.70, 1.0)
WARM = (1.0, 0.42, 0.38)
COOL_LIGHT = (0.10, 0.36, 0.80)  # on a light background the pale tints wash out
WARM_LIGHT = (0.85, 0.15, 0.10)
# The median in the bundle's own hue, made bold: never orange, the lens labels' colour
# and the late layers' end of the path's colour map.
MEDIAN_DARK = (0.86, 0.94, 1.0)
# While the camera moves, the thin paths of at most this many prompts (every k-th),
# as the cloud draws a subset (static_layer.CLOUD_MOVING): a thousand paths drawn afresh
# each frame held an orbit under software OpenGL to 9 frames a second.
MOVING_PATHS = 150
MEDIAN_LIGHT = (0.02, 0.16, 0.45)


def key_color(style) -> tuple:
    """The bundle's colour in a figure's key (0-255)."""
    return tuple(int(255 * c) for c in (COOL_LIGHT if _light(style) else COOL))


def _light(style) -> bool:
    bg = np.asarray(style.background[:3], np.float64)
    bg = bg / 255 if bg.max() > 1 else bg
    return float(bg.mean()) > 0.5


class BundleItems:
    def __init__(self, style, gl_options: dict) -> None:
        self.style = style
        z = np.zeros((2, 3), np.float32)
        self.lines = gl.GLLinePlotItem(pos=z, color=clear_colors(2), width=1.0, antialias=True, mode="lines",
                                       glOptions=gl_options)
        self.hover = gl.GLLinePlotItem(pos=z, color=clear_colors(2), width=3.0, antialias=True, mode="line_strip",
                                       glOptions=gl_options)
        self.median = gl.GLLinePlotItem(pos=z, color=clear_colors(2), width=style.path_width + 1.5, antialias=True,
                                        mode="line_strip", glOptions=gl_options)
        # The moving camera's subset of `lines`: hidden, painted only by the view's
        # paintGL (never by an export, which draws every path).
        self.sample = gl.GLLinePlotItem(pos=z, color=clear_colors(2), width=1.0, antialias=True, mode="lines",
                                        glOptions=gl_options)
        self.sample.setVisible(False)
        self.dots = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=6, color=clear_colors(1), pxMode=True,
                                         glOptions=gl_options)
        self.median_dot = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=16, color=clear_colors(1),
                                               pxMode=True, glOptions=gl_options)
        self.points = np.zeros((0, 0, 3), np.float32)  # (N, L+1, 3) each prompt's unit directions
        self.median_points = np.zeros((0, 3), np.float32)
        self.colors = np.zeros((0, 4), np.float32)  # per prompt
        self.wrong = np.zeros(0, bool)
        self.current = 0.0
        self.hovered = -1
        self._show(False)

    @property
    def items(self) -> tuple:
        return (self.lines, self.median, self.hover, self.dots, self.median_dot)

    def _show(self, on: bool) -> None:
        for item in self.items:
            if item.visible() != on:
                item.setVisible(on)

    def set_data(self, points: np.ndarray, median: np.ndarray, wrong: np.ndarray | None = None) -> None:
        """points: (N, L+1, 3) unit directions; median: (L+1, 3); wrong: (N,) bool, the
        prompts whose target loses. Empty points hide the bundle."""
        self.points = np.asarray(points, np.float32)
        self.median_points = np.asarray(median, np.float32)
        n = len(self.points)
        if n == 0:
            self._show(False)
            return
        alpha = float(np.clip(2.2 / np.sqrt(n), 0.07, 0.55))
        cool, warm = (COOL_LIGHT, WARM_LIGHT) if _light(self.style) else (COOL, WARM)
        colors = np.empty((n, 4), np.float32)
        colors[:] = (*cool, alpha)
        self.wrong = np.zeros(n, bool) if wrong is None else np.asarray(wrong, bool)
        colors[self.wrong] = (*warm, min(1.0, alpha * 1.6))
        self.colors = colors
        ones = np.ones(self.points.shape[1])
        arcs = [slerp_path(p.astype(np.float64), ones) for p in self.points]
        per = len(arcs[0])
        segs = np.stack(arcs)  # (N, per, 3)
        # "lines" mode: each sub-segment as a pair of vertices, one item for the whole set
        pairs = np.concatenate([segs[:, :-1, None], segs[:, 1:, None]], axis=2).reshape(-1, 3)
        vertex_colors = np.repeat(colors, 2 * (per - 1), axis=0)
        self.lines.setData(pos=np.ascontiguousarray(pairs, np.float32), color=np.ascontiguousarray(vertex_colors))
        k = -(-n // MOVING_PATHS)
        keep = np.repeat(np.arange(n) % k == 0, 2 * (per - 1))
        self.sample.setData(pos=np.ascontiguousarray(pairs[keep], np.float32),
                            color=np.ascontiguousarray(vertex_colors[keep]))
        med = slerp_path(self.median_points.astype(np.float64), np.ones(len(self.median_points)))
        self.median.setData(pos=med, color=np.tile(np.array([(*self._median_color(), 1.0)], np.float32), (len(med), 1)),
                            width=self.style.path_width + 1.5)
        self._show(True)
        self.set_hovered(self.hovered if self.hovered < n else -1)
        self.set_current(self.current)

    def _median_color(self) -> tuple:
        return MEDIAN_LIGHT if _light(self.style) else MEDIAN_DARK

    def _at(self, paths: np.ndarray, t: float) -> np.ndarray:
        """Each path's point at fractional layer t (between nodes along the chord, on the sphere)."""
        last = paths.shape[-2] - 1
        t = min(max(t, 0.0), last)
        lo = int(np.floor(t))
        hi = min(lo + 1, last)
        f = t - lo
        p = paths[..., lo, :] * (1 - f) + paths[..., hi, :] * f
        return p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-9)

    def current_dots(self) -> np.ndarray:
        """(N, 3) where each prompt is at the current layer (as drawn)."""
        if len(self.points) == 0:
            return np.zeros((0, 3), np.float32)
        return self._at(self.points, self.current).astype(np.float32) * 1.003

    def set_current(self, layer: float) -> None:
        self.current = float(layer)
        if len(self.points) == 0:
            return
        dots = self.current_dots()
        colors = self.colors.copy()
        colors[:, 3] = np.minimum(1.0, colors[:, 3] * 2.5 + 0.25)
        self.dots.setData(pos=dots, color=colors, size=6.0)
        m = self._at(self.median_points[None], self.current)[0].astype(np.float32) * 1.004
        self.median_dot.setData(pos=m[None], color=np.array([(*self._median_color(), 1.0)], np.float32), size=15.0)

    def set_hovered(self, k: int) -> None:
        self.hovered = int(k)
        if not 0 <= self.hovered < len(self.points):
            self.hover.setData(pos=np.zeros((2, 3), np.float32), color=clear_colors(2))
            self.hover.setVisible(False)
            return
        p = self.points[self.hovered].astype(np.float64)
        arc = slerp_path(p, np.ones(len(p))) * 1.002
        color = np.array(self.colors[self.hovered], np.float32)
        color[3] = 1.0
        self.hover.setData(pos=np.ascontiguousarray(arc, np.float32), color=np.tile(color, (len(arc), 1)), width=3.0)
        self.hover.setVisible(True)

    def apply_style(self, style) -> None:
        self.style = style
        if len(self.points):
            self.set_data(self.points, self.median_points, self.wrong)

