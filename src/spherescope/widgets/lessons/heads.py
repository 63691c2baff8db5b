"""Heads: one attention head of the block at the current layer, at the followed position.
What it reads (its weights over the prompt, as bars and as arcs from the followed
token), all the block's heads side by side (a heatmap), and what it writes (its share
of the block's attention write: a direction on the sphere with a length, the tokens it
raises and lowers most, and its term in the attribution)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from spherescope.core.text import quoted, visible
from spherescope.render.styles import PlotTheme
from spherescope.state.session import Session
from spherescope.widgets.bind import bind
from spherescope.widgets.lessons.common import THEME, CrispImage, LazyRefresh, LessonDock, caption, plot_widget

ARC_POINTS = 24


class HeadsDock(LazyRefresh, LessonDock):
    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self.head = QSpinBox()
        self.head.setObjectName("headChoice")
        # Wide until the block's heads are known: a narrower range would clamp a head chosen
        # elsewhere (a link in What moved it) before this view has read its block.
        self.head.setRange(-1, 1023)
        self.head.setSpecialValueText("top term")
        self.head.setToolTip("The head shown: by default the block's head with the largest attribution term")
        bind(self.head, session.heads, "head")
        self.title = QLabel("")
        self.title.setObjectName("headTitle")
        self.title.setWordWrap(True)
        self.readout = QLabel("")
        self.readout.setObjectName("headReadout")
        self.readout.setWordWrap(True)
        self._build_plots()
        self._lay_out()
        for sig in (session.heads.view_changed, session.heads.weights_changed, session.vocab_changed):
            sig.connect(self.request_refresh)

    def _build_plots(self) -> None:
        th = self.theme
        self.read_plot = plot_widget(th, "What it reads: attention from the followed token", "%", "")
        self.read_plot.setObjectName("headReads")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=th.second, pen=None)
        self.read_plot.addItem(self.bars)
        self.arcs: list[pg.PlotCurveItem] = []
        self.heat_plot = plot_widget(th, "Every head of the block: weight 0 (dark) to 1 (yellow), the one shown framed",
                                     "head", "")
        self.heat_plot.setXLink(self.read_plot)  # the same columns: the prompt's tokens
        self.heat_plot.setObjectName("headHeatmap")
        self.heat = CrispImage()
        self.heat.setColorMap(pg.colormap.get("viridis"))
        self.heat_plot.addItem(self.heat)
        self.heat_plot.getPlotItem().invertY(True)
        self.mark = pg.PlotCurveItem(pen=pg.mkPen(th.accent, width=3))
        self.heat_plot.addItem(self.mark)
        self.heat_plot.scene().sigMouseClicked.connect(self._on_heat_click)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(QLabel("Head"))
        row.addWidget(self.head)
        plots = QVBoxLayout()
        plots.addWidget(self.read_plot, 1)
        plots.addWidget(self.heat_plot, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "The block at the current layer (pick one in What moved it, or with the layer slider): which prompt tokens "
            "its head reads from the followed token, and what it writes there. Click a row of the heatmap for that "
            "head. Its write is drawn on the sphere as a direction."))
        lay.addLayout(row)
        lay.addLayout(plots, 1)
        lay.addWidget(self.readout)

    def _on_heat_click(self, ev) -> None:
        w = self.s.heads.weights
        vb = self.heat_plot.getPlotItem().getViewBox()
        if w is None or not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        h = int(np.floor(vb.mapSceneToView(ev.scenePos()).y()))
        if 0 <= h < w.shape[0]:
            self.s.heads.head = h

    def refresh(self) -> None:
        hv, w, s = self.s.heads.view, self.s.heads.weights, self.s
        if hv is None or w is None or s.vocab is None or not s.tokens:
            self._clear()
            return
        self.read_plot.set_empty(None)
        self.heat_plot.set_empty(None)
        self.head.setRange(-1, w.shape[0] - 1)
        tokens = s.tokens
        names = [visible(t.text, 8) for t in tokens]
        self._draw_reads(hv, names)
        self._draw_heatmap(w, hv.head, names)
        followed = quoted(tokens[hv.position].text)
        self.title.setText(f"Block {hv.layer}, head {hv.head} at {followed} (position {hv.position})")
        self.readout.setText(self.describe(hv))

    def _clear(self) -> None:
        why = ("Run a prompt to see its heads." if self.s.trace is None else
               "Choose a layer from 1 (a block) to see its heads." if self.s.layer < 1 else "Reading the heads…")
        self.read_plot.set_empty(why)
        self.heat_plot.set_empty(why)
        self.title.setText("")
        self.readout.setText("")

    def describe(self, hv) -> str:
        texts = self.s.vocab.texts
        reads = ", ".join(f"{quoted(self.s.tokens[p].text)} {100 * wt:.0f}%" for p, wt in hv.reads(3))
        raises = ", ".join(f"{quoted(texts[i])} {v:+.2f}" for i, v in hv.says[:4])
        lowers = ", ".join(f"{quoted(texts[i])} {v:+.2f}" for i, v in hv.lowers[:4])
        text = f"Reads {reads}. Writes a vector of length {hv.norm:.1f}: it raises {raises}; it lowers {lowers}."
        if hv.dla is not None:
            text += f" Its term in What moved it: {hv.dla:+.2f}."
        return text

    def _draw_reads(self, hv, names: list[str]) -> None:
        th, n = self.theme, len(names)
        x = np.arange(n)
        pct = 100 * hv.weights
        self.bars.setOpts(x=x, height=pct, width=0.7)
        pi = self.read_plot.getPlotItem()
        for arc in self.arcs:
            pi.removeItem(arc)
        self.arcs = []
        top = 1.05 * max(float(pct.max()), 5.0)
        base = pg.mkColor(th.accent)
        for p in range(n):
            wt = float(hv.weights[p])
            if wt < 0.02 or p == hv.position:
                continue
            # An arc from the followed token up and over to the one it reads, as thick as its weight.
            t = np.linspace(0, 1, ARC_POINTS)
            xs = hv.position + (p - hv.position) * t
            ys = top + 0.35 * top * np.sin(np.pi * t) * min(1.0, abs(p - hv.position) / max(n / 3, 1))
            color = pg.mkColor(base)
            color.setAlphaF(0.35 + 0.65 * wt)
            arc = pg.PlotCurveItem(xs, ys, pen=pg.mkPen(color, width=1 + 6 * wt))
            pi.addItem(arc)
            self.arcs.append(arc)
        pi.getAxis("bottom").setTicks([list(zip(x, names))])
        pi.getAxis("left").enableAutoSIPrefix(False)
        pi.setYRange(0, 1.45 * top, padding=0)
        pi.setXRange(-0.6, n - 0.4, padding=0)

    def _draw_heatmap(self, w: np.ndarray, head: int, names: list[str]) -> None:
        heads, n = w.shape
        self.heat.setImage(w.T, levels=(0.0, 1.0), autoLevels=False)
        self.heat.setRect(pg.QtCore.QRectF(-0.5, 0, n, heads))
        self.read_plot.getPlotItem().getAxis("bottom").setStyle(showValues=False)  # the heatmap's names serve both
        self.mark.setData([-0.5, n - 0.5, n - 0.5, -0.5, -0.5], [head, head, head + 1, head + 1, head])
        pi = self.heat_plot.getPlotItem()
        step = 1 if heads <= 6 else 2 if heads <= 16 else heads // 8  # rows too thin for every number
        pi.getAxis("left").setTicks([[(h + 0.5, str(h)) for h in range(0, heads, step)]])
        pi.getAxis("bottom").setTicks([list(zip(range(n), names))])
        pi.setRange(xRange=(-0.6, n - 0.4), yRange=(0, heads), padding=0)

    def figure(self):
        """Both plots side by side, for a picture (the dock is a throwaway copy)."""
        from spherescope.render.plots import composite

        fig = composite(self.theme.background, [[self.read_plot.getPlotItem()], [self.heat_plot.getPlotItem()]])
        fig.ci.layout.setRowStretchFactor(1, 1)
        fig.ci.layout.setRowStretchFactor(2, 1)
        return fig
