"""The trajectory's GL items: great-circle arcs between layers, a node per layer, and the
marker at the current layer with its vector from the origin.

The current layer may be fractional (an animation between layers): the marker then
sits on the arc between two nodes. With `reveal`, only the path up to the current
layer is drawn, so a sweep shows the path growing layer by layer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl

from spherescope.render.shapes import ARC_STEPS, clear_colors, slerp_path


class TrajectoryItems:
    def __init__(self, style, gl_options: dict, cmap: str = "plasma") -> None:
        self.style = style
        self._cmap = pg.colormap.get(cmap)
        self.path = gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), color=(0, 0, 0, 0), width=style.path_width,
                                      antialias=True, mode="line_strip", glOptions=gl_options)
        # Round dots of the line's width at every arc vertex: a thick GL line strip
        # leaves a wedge-shaped seam at each joint, and these fill it.
        self.joints = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=1, color=(0, 0, 0, 0), pxMode=True,
                                           glOptions=gl_options)
        self.nodes = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=1, color=(0, 0, 0, 0), pxMode=True,
                                          glOptions=gl_options)
        self.vector = gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), color=(1, 1, 1, 0), width=2.0, antialias=True,
                                        mode="lines", glOptions=gl_options)
        self.marker = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=24, color=(0, 0, 0, 0), pxMode=True,
                                           glOptions=gl_options)
        self.marker_core = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=12, color=(0, 0, 0, 0),
                                                pxMode=True, glOptions=gl_options)
        # Inside the layer (sublayers shown): each block's attention and MLP writes as arcs,
        # the current block's drawn thick; the point after attention as a small node.
        self.writes = gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), color=(0, 0, 0, 0), width=1.5,
                                        antialias=True, mode="lines", glOptions=gl_options)
        self.writes_now = gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), color=(0, 0, 0, 0), width=4.0,
                                            antialias=True, mode="lines", glOptions=gl_options)
        self.mids = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=1, color=(0, 0, 0, 0), pxMode=True,
                                         glOptions=gl_options)
        self._writes: dict | None = None
        self._log_range = (0.0, 1.0)
        self._length_as = "size"
        self.points = np.zeros((0, 3), np.float32)  # node positions, as drawn
        self.colors = np.zeros((0, 4), np.float32)
        self.sizes = np.zeros(0, np.float32)
        self.arc = np.zeros((0, 3), np.float32)
        self.arc_colors = np.zeros((0, 4), np.float32)
        self.current = 0.0
        self.marker_scale = 1.0
        self.reveal = False
        _show(self.items + self.sublayer_items, False)  # nothing to draw yet

    @property
    def items(self) -> tuple:
        return (self.path, self.joints, self.nodes, self.vector, self.marker, self.marker_core)

    @property
    def sublayer_items(self) -> tuple:
        return (self.writes, self.writes_now, self.mids)

    def set_data(self, points: np.ndarray, norms: np.ndarray, kept: np.ndarray, total_layers: int,
                 length_as: str = "size") -> None:
        """points: (n, 3) unit directions of layers 0..n-1; norms: their full lengths."""
        n = len(points)
        if n == 0:
            self.points = np.zeros((0, 3), np.float32)
            self.arc = np.zeros((0, 3), np.float32)
            self._draw()
            return
        logn = np.log(np.maximum(np.asarray(norms, np.float64), 1e-6))
        self._log_range, self._length_as = (float(logn.min()), float(logn.max())), length_as
        span = logn.max() - logn.min()
        t_len = (logn - logn.min()) / span if span > 1e-9 else np.full(n, 0.5)
        if length_as == "radius":
            radii = 0.25 + 0.75 * t_len
            sizes = np.full(n, 9.0)
        else:
            radii = np.ones(n)
            lo, hi = self.style.node_size
            sizes = lo + (hi - lo) * t_len
        layer_t = np.arange(n) / max(total_layers, 1)
        top = self.style.path_cmap_top
        colors = self._cmap.map(layer_t * top, mode="float").astype(np.float32)
        # Opacity shows how much of the vector the 3-D basis keeps (sqrt spreads the
        # typically small kept fractions of a 3-of-d projection over a visible range).
        colors[:, 3] = 0.3 + 0.7 * np.sqrt(np.clip(kept, 0, 1))
        self.points = np.ascontiguousarray(points * radii[:, None], dtype=np.float32)
        self.colors, self.sizes = colors, sizes.astype(np.float32)
        self.arc = slerp_path(np.asarray(points, np.float64), radii)
        seg_t = np.repeat(layer_t[:-1], ARC_STEPS) if n > 1 else layer_t
        if n > 1:
            seg_t = seg_t + np.tile(np.arange(ARC_STEPS) / ARC_STEPS, n - 1) / max(total_layers, 1)
            seg_t = np.r_[seg_t, layer_t[-1]]
        self.arc_colors = self._cmap.map(seg_t * top, mode="float").astype(np.float32)
        self.arc_colors[:, 3] = 0.9
        self._draw()

    def set_current(self, layer: float) -> None:
        self.current = float(layer)
        if self.reveal:
            self._draw()
        else:
            self._draw_marker()
        if self._writes is not None:
            self._draw_writes()

    # ---- inside the layer ----
    ATTN_COLOR = (0.30, 0.79, 0.94, 0.95)  # attention writes
    MLP_COLOR = (0.97, 0.15, 0.52, 0.95)  # MLP writes

    def radius(self, norms: np.ndarray) -> np.ndarray:
        """The radius a vector of these lengths is drawn at, as the path's nodes are."""
        if self._length_as != "radius":
            return np.ones(len(norms))
        lo, hi = self._log_range
        t = (np.log(np.maximum(np.asarray(norms, np.float64), 1e-6)) - lo) / max(hi - lo, 1e-9)
        return 0.25 + 0.75 * np.clip(t, 0.0, 1.0)

    def set_writes(self, attn=None, mlp=None, mids=None) -> None:
        """Each block's writes as arcs: `attn`, `mlp` as (dirs (L, 2, 3) unit from/to,
        lengths (L, 2)); `mids`, the points after attention of sequential blocks, as
        (dirs (L, 3), lengths (L,)). `attn` None hides them all."""
        self._writes = None if attn is None else {"attn": attn, "mlp": mlp, "mids": mids}
        self._draw_writes()

    def _arc(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
        arc = slerp_path(np.stack([a, b]).astype(np.float64), np.array([ra, rb]))
        return np.repeat(arc, 2, axis=0)[1:-1]  # "lines" mode: each sub-segment as a pair

    def _draw_writes(self) -> None:
        w = self._writes
        if w is None or len(self.points) < 2:
            for item in self.sublayer_items:
                item.setData(pos=np.zeros((2, 3), np.float32), color=clear_colors(2))
            _show(self.sublayer_items, False)
            return
        _show((self.writes, self.writes_now), True)
        self.mids.setVisible(w["mids"] is not None)
        now = int(round(self.current))  # layer `now`'s residual was written by block `now` (1-based)
        segs, cols, thick, thick_cols = [], [], [], []
        for kind, color in (("attn", self.ATTN_COLOR), ("mlp", self.MLP_COLOR)):
            dirs, norms = w[kind]
            faint = np.array(color, np.float32)
            faint[3] = 0.35
            for i in range(len(dirs)):
                r = self.radius(norms[i])
                arc = self._arc(dirs[i, 0], dirs[i, 1], r[0], r[1])
                segs.append(arc)
                cols.append(np.repeat(faint[None], len(arc), axis=0))
                if i + 1 == now:
                    thick.append(arc)
                    thick_cols.append(np.repeat(np.array(color, np.float32)[None], len(arc), axis=0))
        self.writes.setData(pos=np.ascontiguousarray(np.vstack(segs), np.float32), color=np.vstack(cols))
        if thick:
            self.writes_now.setData(pos=np.ascontiguousarray(np.vstack(thick), np.float32), color=np.vstack(thick_cols),
                                    width=self.style.path_width + 1.0)
        else:
            self.writes_now.setData(pos=np.zeros((2, 3), np.float32), color=clear_colors(2))
        if w["mids"] is not None:
            dirs, norms = w["mids"]
            pts = dirs * self.radius(norms)[:, None]
            colors = np.tile(np.array(self.ATTN_COLOR, np.float32), (len(pts), 1))
            self.mids.setData(pos=np.ascontiguousarray(pts, np.float32), color=colors, size=7.0)
        else:
            self.mids.setData(pos=np.zeros((1, 3), np.float32), color=clear_colors(1))

    def set_reveal(self, on: bool) -> None:
        self.reveal = bool(on)
        self._draw()

    def _arc_point(self, t: float) -> np.ndarray:
        """The point on the arcs at fractional layer t."""
        k = min(max(t, 0.0), len(self.points) - 1) * ARC_STEPS
        lo = int(np.floor(k))
        hi = min(lo + 1, len(self.arc) - 1)
        f = k - lo
        return (self.arc[lo] * (1 - f) + self.arc[hi] * f).astype(np.float32)

    def _draw(self) -> None:
        n = len(self.points)
        # Empty items are hidden, not drawn transparent: each would cost frame time.
        _show((self.path, self.joints, self.nodes), n > 0)
        if n == 0:
            self.path.setData(pos=np.zeros((2, 3), np.float32), color=clear_colors(2))
            for item in (self.joints, self.nodes):
                item.setData(pos=np.zeros((1, 3), np.float32), color=clear_colors(1))
            self._draw_marker()
            return
        arc, arc_colors = self.arc, self.arc_colors
        nodes = slice(0, n)
        if self.reveal:
            t = min(max(self.current, 0.0), n - 1)
            k = int(np.floor(t * ARC_STEPS))
            arc = np.vstack([self.arc[:k + 1], self._arc_point(t)[None]])
            arc_colors = np.vstack([self.arc_colors[:k + 1], self.arc_colors[min(k + 1, len(self.arc_colors) - 1)][None]])
            nodes = slice(0, int(np.floor(t + 1e-9)) + 1)
        if len(arc) > 1:
            self.path.setData(pos=np.ascontiguousarray(arc, np.float32), color=arc_colors, width=self.style.path_width)
            self.joints.setData(pos=np.ascontiguousarray(arc, np.float32), color=arc_colors,
                                size=float(self.style.path_width))
        else:
            self.path.setData(pos=np.zeros((2, 3), np.float32), color=clear_colors(2))
            self.joints.setData(pos=np.zeros((1, 3), np.float32), color=clear_colors(1))
        self.nodes.setData(pos=self.points[nodes], color=self.colors[nodes], size=self.sizes[nodes])
        self._draw_marker()

    def marker_position(self) -> np.ndarray | None:
        n = len(self.points)
        if n == 0:
            return None
        t = min(max(self.current, 0.0), n - 1)
        if t == int(t):
            return self.points[int(t)].copy()
        return self._arc_point(t)

    def marker_layer(self) -> int:
        return int(min(round(self.current), max(len(self.points) - 1, 0)))

    def _draw_marker(self) -> None:
        p = self.marker_position()
        _show((self.marker, self.marker_core, self.vector), p is not None)
        if p is None:
            for item in (self.marker, self.marker_core):
                item.setData(pos=np.zeros((1, 3), np.float32), color=clear_colors(1))
            self.vector.setData(pos=np.zeros((2, 3), np.float32), color=(0.0, 0.0, 0.0, 0.0))
            return
        c = self.colors[self.marker_layer()].copy()
        c[3] = 1.0
        k = self.marker_scale
        self.marker.setData(pos=p[None], color=np.array([self.style.marker_color], np.float32), size=26 * k)
        self.marker_core.setData(pos=p[None] * 1.001, color=c[None], size=14 * k)
        self.vector.setData(pos=np.stack([np.zeros(3, np.float32), p]), color=self.style.vector_color, width=2.0)


def _show(items, visible: bool) -> None:
    for item in items:
        if item.visible() != visible:
            item.setVisible(visible)
