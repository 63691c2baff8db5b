"""The Plane view's picture of a prompt set: every prompt's path in its own plane of
target and contrast (thin), the quartiles of the in-plane angle as a band at the median
length, and the median path bold, so the article's figure becomes a distribution."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from spherescope.core.plane import log_radial
from spherescope.core.set_plane import SetPlane
from spherescope.core.text import counted
from spherescope.render.styles import PlotTheme

MAX_THIN = 400  # paths drawn thin; past that a seeded sample (the band and median use all)


class SetPlaneLayer:
    """Plot items added to the plane plot; hidden while the plane shows one prompt."""

    def __init__(self, plot: pg.PlotWidget, theme: PlotTheme) -> None:
        th = theme
        self.thin = pg.PlotCurveItem(pen=pg.mkPen(th.muted[:3] + (min(th.muted[3], 80),), width=1), connect="finite")
        # The quartiles of the angle as an arc across each layer's node, at its median
        # length: polar error bars. (A band filled between the two quartile paths zigzags
        # where layers' angles jump and hides the thin paths under it.)
        self.arcs = pg.PlotCurveItem(pen=pg.mkPen(th.accent_fill[:3] + (150,), width=1.5), connect="finite")
        self.items = (self.thin, self.arcs)
        for item in self.items:
            plot.addItem(item)
            item.setZValue(-5)
        self.visible(False)

    def visible(self, on: bool) -> None:
        for item in self.items:
            item.setVisible(on)

    def show(self, sp: SetPlane, log: bool) -> tuple[np.ndarray, np.ndarray]:
        """Draw the set; returns the median path's (x, y) as drawn."""
        warp = log_radial if log else (lambda x, y: (x, y))
        idx = np.arange(sp.n)
        if sp.n > MAX_THIN:
            idx = np.sort(np.random.default_rng(0).choice(sp.n, MAX_THIN, replace=False))
        x, y = warp(sp.x[idx], sp.y[idx])
        # One curve for every path: NaN between prompts breaks the line (connect="finite").
        gap = np.full((len(idx), 1), np.nan)
        self.thin.setData(np.hstack([x, gap]).ravel(), np.hstack([y, gap]).ravel())
        ax, ay = warp(*sp.arcs_xy())
        self.arcs.setData(ax.ravel(), ay.ravel())
        self.visible(True)
        return warp(*sp.median_xy())

    def extent(self, sp: SetPlane, log: bool) -> tuple[np.ndarray, np.ndarray]:
        """Every point drawn (to frame the plot)."""
        warp = log_radial if log else (lambda x, y: (x, y))
        x, y = warp(sp.x, sp.y)
        return x.ravel(), y.ravel()


def describe_layer(sp: SetPlane, layer: int) -> str:
    i = min(max(layer, 0), sp.angle.shape[1] - 1)
    a25, a50, a75 = sp.angle[:, i]
    k25, k50, k75 = sp.kept[:, i]
    apart = "" if sp.apart is None else f" (target and contrast a median {sp.apart:.0f}° apart)"
    return (f"Layer {i}, {counted(sp.n, 'prompt')}, each in its own plane{apart}: h is a median {a50:.0f}° from its target "
            f"within the plane (quartiles {a25:.0f}° to {a75:.0f}°), {sp.radius[i]:,.1f} along it; the plane keeps a "
            f"median {100 * k50:.0f}% of |h| = {sp.norm[i]:,.1f} (quartiles {100 * k25:.0f}% to {100 * k75:.0f}%).")
