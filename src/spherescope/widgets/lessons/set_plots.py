"""The prompt set's plots: the lens's logit difference through the layers (mean and
quartiles), what moved it block by block (mean terms with their 95% intervals),
patching over the set's pairs (the recovery of the mean difference, by position and by
head), and steering's dose-response over the set."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from spherescope.core.set_results import interval
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import plot_widget, recovery_heatmap
from spherescope.widgets.lessons.head_grid import HeadGridPlot

UPSAMPLE = 8
STEER_TITLE = "Steering the set: target − contrast"


class LensBandPlot:
    """Mean lens difference per layer, its quartile band, zero, and the current layer."""

    def __init__(self, theme: PlotTheme) -> None:
        th = self.theme = theme
        self.plot = plot_widget(th, "The set's lens: target − contrast", "logit difference", "layer")
        self.plot.setObjectName("setLensPlot")
        pi = self.plot.getPlotItem()
        self.q25 = pg.PlotCurveItem(pen=pg.mkPen(th.accent_fill[:3] + (120,), width=1))
        self.q75 = pg.PlotCurveItem(pen=pg.mkPen(th.accent_fill[:3] + (120,), width=1))
        self.band = pg.FillBetweenItem(self.q25, self.q75, brush=pg.mkBrush(*th.accent_fill))
        self.mean = pg.PlotCurveItem(pen=pg.mkPen(th.accent, width=2.5))
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(th.axis, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.cursor = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(th.cursor, width=1))
        for item in (self.band, self.q25, self.q75, self.zero, self.mean, self.cursor):
            pi.addItem(item)

    def show(self, summary, layer: int) -> None:
        if summary is None or summary.lens_diff is None:
            self.plot.set_empty("Give the set a target and a contrast (columns target and contrast) to see the lens's "
                                "logit difference through the layers." if summary is not None else
                                "Run the set to see how its logit difference grows through the layers.")
            return
        self.plot.set_empty(None)
        q25, _med, q75 = summary.lens_quartiles()
        x = np.arange(len(q25), dtype=float)
        self.q25.setData(x, q25)
        self.q75.setData(x, q75)
        self.mean.setData(x, summary.lens_diff.mean(axis=0))
        self.cursor.setValue(layer)
        self.plot.getPlotItem().setXRange(0, len(x) - 1, padding=0.02)

    def set_layer(self, layer: int) -> None:
        self.cursor.setValue(layer)


class DlaPlot:
    """Each block's attention and MLP terms, mean over the set, with 95% intervals."""

    def __init__(self, theme: PlotTheme) -> None:
        th = self.theme = theme
        self.plot = plot_widget(th, "What moved it: mean term per block", "logit difference", "block")
        self.plot.setObjectName("setDlaPlot")
        pi = self.plot.getPlotItem()
        self.attn = pg.BarGraphItem(x=[], height=[], width=0.4, brush=th.second, pen=None)
        self.mlp = pg.BarGraphItem(x=[], height=[], width=0.4, brush=th.third, pen=None)
        self.attn_err = pg.ErrorBarItem(pen=pg.mkPen(th.text, width=1))
        self.mlp_err = pg.ErrorBarItem(pen=pg.mkPen(th.text, width=1))
        for item in (self.attn, self.mlp, self.attn_err, self.mlp_err):
            pi.addItem(item)
        self.legend = pi.addLegend(offset=(8, 8), labelTextColor=th.text, brush=pg.mkBrush(*th.plate))
        self.legend.addItem(self.attn, "attention")
        self.legend.addItem(self.mlp, "MLP")

    def show(self, summary) -> None:
        if summary is None or not summary.has_attribution:
            self.plot.set_empty("Run a set with a target (and a contrast) to see which blocks move it, over the set."
                                if summary is None or summary.lens_diff is None else
                                "This model's blocks cannot be split into attention and MLP writes.")
            return
        self.plot.set_empty(None)
        x = np.arange(1, summary.attn.shape[1] + 1, dtype=float)
        for bars, err, values, dx in ((self.attn, self.attn_err, summary.attn, -0.2),
                                      (self.mlp, self.mlp_err, summary.mlp, 0.2)):
            mean = values.mean(axis=0)
            lo, hi = interval(values)
            bars.setOpts(x=x + dx, height=mean, width=0.4)
            err.setData(x=x + dx, y=mean, top=hi - mean, bottom=mean - lo, beam=0.15)
        self.plot.getPlotItem().setXRange(0.3, len(x) + 0.7, padding=0)


class SetPatchPlot:
    """The recovery of the mean difference: layers (rows) x positions from the end."""

    def __init__(self, theme: PlotTheme) -> None:
        th = self.theme = theme
        self.plot = plot_widget(th, "Patching pairs: mean recovered", "layer", "position from the end")
        self.plot.setObjectName("setPatchPlot")
        self.plot.showGrid(x=False, y=False)
        self.heat, _bar = recovery_heatmap(self.plot, th, axisOrder="row-major")

    def show(self, grid, has_pairs: bool, running: bool) -> None:
        if grid is None:
            self.plot.set_empty("Patching the pairs…" if running else
                                "Press Patch pairs: each cell copies the clean prompt's residual into its corrupt "
                                "prompt, for every pair, and shows how much of the mean difference comes back."
                                if has_pairs else "A set with a corrupt column (clean/corrupt pairs) can be patched.")
            return
        self.plot.set_empty(None)
        m = np.nan_to_num(grid.matrix, nan=0.0)
        self.heat.setImage(np.kron(m, np.ones((UPSAMPLE, UPSAMPLE))), levels=(-1.0, 1.0))
        self.heat.setRect(-0.5, -0.5, m.shape[1], m.shape[0])
        pi = self.plot.getPlotItem()
        cols = m.shape[1]
        step = 1 if cols <= 10 else max(2, cols // 6)
        pi.getAxis("bottom").setTicks([[(j, str(j - cols)) for j in range(cols - 1, -1, -step)]])
        pi.setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, m.shape[0] - 0.5), padding=0)


class SetHeadsPlot(HeadGridPlot):
    """Each head patched at the last position, over the pairs: blocks x heads."""

    def __init__(self, theme: PlotTheme) -> None:
        super().__init__(theme, None)
        self.plot.setObjectName("setHeadsPlot")

    def show_set(self, grid, has_pairs: bool, running: bool) -> str:
        heads = None if grid is None else grid.heads_matrix
        if heads is None:
            self.grid = None
            self.heat.clear()
            self.plot.set_empty("Patching the heads over the pairs…" if running else
                                "Press Patch heads: each cell copies one head's clean output at the last position "
                                "into its corrupt prompt, for every pair, and shows how much of the mean difference "
                                "comes back." if has_pairs else
                                "A set with a corrupt column (clean/corrupt pairs) can be patched head by head.")
            return ""
        text = self.show(_Heads(heads), None, False)
        self.plot.setTitle("Heads over the pairs: mean recovered", color=self.theme.title, size="9pt")
        return text


class _Heads:
    """A set's head grid in the shape HeadGridPlot draws."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    def rows_done(self) -> int:
        return self.matrix.shape[0]


class SetSteerPlot:
    """Steering's dose-response over the set: the mean target − contrast at each α, with
    the prompts' quartiles as a band."""

    def __init__(self, theme: PlotTheme) -> None:
        th = self.theme = theme
        self.plot = plot_widget(th, STEER_TITLE, "logit difference", "α")
        self.plot.setObjectName("setSteerPlot")
        pi = self.plot.getPlotItem()
        self.q25 = pg.PlotCurveItem(pen=pg.mkPen(th.second_fill[:3] + (140,), width=1))
        self.q75 = pg.PlotCurveItem(pen=pg.mkPen(th.second_fill[:3] + (140,), width=1))
        self.band = pg.FillBetweenItem(self.q25, self.q75, brush=pg.mkBrush(*th.second_fill))
        self.mean = pg.PlotDataItem(pen=pg.mkPen(th.second, width=2.5), symbol="o", symbolSize=5,
                                    symbolBrush=th.second, symbolPen=None)
        dash = pg.QtCore.Qt.PenStyle.DashLine
        for item in (self.band, self.q25, self.q75, pg.InfiniteLine(0, angle=0, pen=pg.mkPen(th.axis, width=1, style=dash)),
                     pg.InfiniteLine(0, angle=90, pen=pg.mkPen(th.axis, width=1)), self.mean):
            pi.addItem(item)

    def show(self, curve, can_steer: bool, running: bool) -> str:
        """Draw `curve` (models.set_steer.SetSteerCurve or None); returns the readout."""
        if curve is None:
            self.plot.setTitle(STEER_TITLE, color=self.theme.title, size="9pt")
            self.plot.set_empty("Steering the set…" if running else
                                "Choose a direction and a block, then Sweep the set: every prompt at 21 values of α "
                                "out to 3 × the set's median |h| there." if can_steer else
                                "Run a set with a target (and a contrast) column to steer it.")
            return ""
        self.plot.set_empty(None)
        self.plot.setTitle(f"Steering after block {curve.layer}, {_direction(curve, short=True)}",
                           color=self.theme.title, size="9pt")
        q25, q75 = curve.quartiles
        self.q25.setData(curve.alphas, q25)
        self.q75.setData(curve.alphas, q75)
        self.mean.setData(curve.alphas, curve.mean)
        self.plot.getPlotItem().setXRange(float(curve.alphas.min()), float(curve.alphas.max()), padding=0.03)
        return describe_steer(curve)


def _direction(curve, short: bool = False) -> str:
    from spherescope.core.text import quoted

    if curve.toward is None:
        return "each prompt toward its contrast" + ("" if short else ", away from its target")
    away = "" if curve.away is None else (f" − {quoted(curve.away)}" if short else f", away from {quoted(curve.away)}")
    return f"toward {quoted(curve.toward)}{away}"


def describe_steer(curve) -> str:
    """Where the set's prediction holds and where it gives way, in one sentence."""
    direction = _direction(curve)
    acc, alphas = curve.accuracy, curve.alphas
    zero = int(np.argmin(np.abs(alphas)))
    text = (f"Steering after block {curve.layer}, {direction}: at α = {alphas[zero]:g} the target wins in "
            f"{100 * acc[zero]:.0f}% (mean {curve.mean[zero]:+.2f})")
    ends = [(alphas[i], acc[i], curve.mean[i]) for i in (0, len(alphas) - 1) if i != zero]
    text += "".join(f"; at α = {a:g}, {100 * c:.0f}% (mean {m:+.2f})" for a, c, m in ends)
    flips = [alphas[i] for i in range(len(alphas)) if (acc[i] < 0.5) != (acc[zero] < 0.5)]
    if flips:
        nearest = min(flips, key=abs)
        text += f". The majority flips by α = {nearest:g}"
    return text + "."
