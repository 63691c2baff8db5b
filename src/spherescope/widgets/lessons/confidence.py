"""Length is confidence: scale the vector the unembedding sees by α; and temperature."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout

from spherescope.core.lessons import ALPHAS, TEMPERATURES, entropy_fraction, probs_at_alpha
from spherescope.core.text import quoted
from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LazyRefresh, LessonDock, THEME, caption, plot_widget
from spherescope.widgets.topk_bars import TopKBars
from spherescope.widgets.bind import bind


class ConfidenceDock(LazyRefresh, LessonDock):
    """Length is confidence: scale the vector the unembedding sees by α; and temperature."""

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("alphaSlider")
        self.slider.setRange(0, 400)
        bind(self.slider, session, "alpha", to_state=lambda v: v / 100, to_widget=lambda a: round(a * 100))
        self.alpha_label = QLabel("α = 1.00")
        self.alpha_label.setMinimumWidth(70)
        self.bars = TopKBars()
        self.bars.token_hovered.connect(lambda t: setattr(session, "highlight", t))
        self.alpha_plot = plot_widget(self.theme, "Top token vs α", "", "α")  # its curves are named in the plot
        self.p_curve = self.alpha_plot.plot(pen=pg.mkPen(self.theme.accent, width=2), name="p(top)")
        self.h_curve = self.alpha_plot.plot(pen=pg.mkPen(self.theme.second, width=2, style=Qt.PenStyle.DashLine), name="entropy")
        self.alpha_line = pg.InfiniteLine(1.0, angle=90, pen=pg.mkPen(self.theme.cursor, width=1))
        self.alpha_plot.addItem(self.alpha_line)
        # The curves are named where they run (p(top) rises to 1, entropy falls to 0), not
        # in a legend box that sat on the p(top) curve in a small plot.
        self.curve_names = []
        for text, color, y, anchor in (("p(top)", self.theme.accent, 0.93, (1, 0)),
                                       ("entropy ÷ ln V", self.theme.second, 0.07, (1, 1))):
            label = pg.TextItem(text, color=color, anchor=anchor)
            label.setPos(float(ALPHAS[-1]), y)
            self.alpha_plot.addItem(label, ignoreBounds=True)
            self.curve_names.append(label)
        self.t_plot = plot_widget(self.theme, "Top token vs temperature", "p(top)", "T (0 = argmax)")
        self.t_curve = self.t_plot.plot(pen=pg.mkPen(self.theme.third, width=2))
        # T = 1 is the model as it is: marked, with the top token named there.
        self.t_one = pg.InfiniteLine(1.0, angle=90, pen=pg.mkPen(self.theme.cursor, width=1, style=Qt.PenStyle.DotLine),
                                     label="T = 1", labelOpts={"position": 0.05, "color": self.theme.cursor, "anchors": [(0, 0), (0, 0)]})
        self.t_plot.addItem(self.t_one)
        self.t_name = pg.TextItem("", color=self.theme.third, anchor=(0, 0))  # below the curve: above, it left the plot
        self.t_plot.addItem(self.t_name, ignoreBounds=True)
        # Both plots show fractions over fixed axes: fixed ranges keep a layer step from
        # rescaling (and so redrawing) the axes, and keep curves comparable across layers.
        for plot, xmax in ((self.alpha_plot, float(ALPHAS[-1])), (self.t_plot, float(TEMPERATURES[-1]))):
            plot.setXRange(0.0, xmax, padding=0.02)
            plot.setYRange(-0.12, 1.12, padding=0)  # room for the 0 and 1 tick labels
            plot.getPlotItem().getViewBox().disableAutoRange()
            plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")], [(v, "") for v in (0.25, 0.75)]])
            plot.getAxis("left").setStyle(hideOverlappingLabels=False, textFillLimits=[(0, 1.0)])  # 0 and 1 at the ends, in small plots too
        row = QHBoxLayout()
        row.addWidget(QLabel("Scale"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.alpha_label)
        plots = QHBoxLayout()
        plots.addWidget(self.bars, 1)
        plots.addWidget(self.alpha_plot, 1)
        plots.addWidget(self.t_plot, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Direction picks the token, length sets the confidence: multiplying the vector by α multiplies every "
            "logit, so the top token's probability rises with α while the ranking stays. Temperature T divides them."))
        lay.addLayout(row)
        lay.addLayout(plots, 1)
        for sig in (session.position_changed, session.alpha_changed, session.lessons_changed):
            sig.connect(self.request_refresh)
        session.layer_changed.connect(self.request_frame_refresh)

    def figure(self):
        """The top-k probabilities at α as bars; beside them p(top) and entropy against
        α, over p(top) against temperature."""
        from spherescope.render.plots import composite

        bars = pg.PlotItem()
        rows = self.bars.rows
        th = self.theme
        if rows:
            n = len(rows)
            probs = [p for _i, _t, p in rows]
            brushes = [pg.mkBrush(*th.bar_top)] + [pg.mkBrush(*th.bar)] * (n - 1)
            # In percent: probabilities as fractions under 1 let the axis pick an SI
            # prefix and read "100 / 200 / 300" for a 34% bar.
            percent = [100 * p for p in probs]
            bars.getAxis("bottom").enableAutoSIPrefix(False)
            bars.addItem(pg.BarGraphItem(x0=0, y=list(range(n)), height=0.7, width=percent, brushes=brushes, pen=None))
            left = bars.getAxis("left")
            left.setTicks([[(k, f"{quoted(t)} {100 * p:.1f}%") for k, (_i, t, p) in enumerate(rows)]])
            bars.invertY(True)
            bars.setXRange(0, max(percent) * 1.05, padding=0)
        bars.setTitle(f"Top tokens at α = {self.s.alpha:.2f}", color=th.title, size="9pt")
        bars.setLabel("bottom", "probability (%)", color=th.axis)
        bars.getAxis("bottom").enableAutoSIPrefix(False)
        for side in ("left", "bottom"):
            bars.getAxis(side).setPen(pg.mkPen(th.axis))
            bars.getAxis(side).setTextPen(pg.mkPen(th.axis))
        # The bars beside the two curves stacked: three plots in a row leave each too
        # narrow for slide-sized text.
        # Room above 1 and below 0 for their tick labels: a label past the axis's ends is
        # dropped, and at slide size only 0.5 was left.
        for plot in (self.alpha_plot, self.t_plot):
            plot.setYRange(-0.3, 1.3, padding=0)
        # Slide-sized names inside 0..1 ran into each other: the title names the curves,
        # in their colours, instead.
        for name in self.curve_names:
            name.hide()
        self.alpha_plot.setTitle(f"<span style='color:{th.accent}'>p(top)</span> and "
                                 f"<span style='color:{th.second}'>entropy ÷ ln V</span> vs α", color=th.title,
                                 size="9pt")
        view = composite(th.background, [[bars, self.alpha_plot.getPlotItem()], [None, self.t_plot.getPlotItem()]],
                         widths=[1, 1])
        view.ci.removeItem(bars)
        view.ci.addItem(bars, row=1, col=0, rowspan=2)
        return view

    def refresh(self) -> None:
        a = self.s.alpha
        self.alpha_label.setText(f"α = {a:.2f}")
        self.alpha_line.setValue(a)
        les = self.s.current_lesson()
        vocab = self.s.vocab
        if les is None or vocab is None:
            self.bars.set_rows([])
            self.p_curve.setData([], [])
            self.h_curve.setData([], [])
            self.t_curve.setData([], [])
            self.t_name.setText("")
            why = "Run a prompt to see how α and temperature change its top token."
            self.alpha_plot.set_empty(why)
            self.t_plot.set_empty(why)
            return
        self.alpha_plot.set_empty(None)
        self.t_plot.set_empty(None)
        ids, probs = probs_at_alpha(les.logits, les.bias, a, 10)
        self.bars.set_rows([(int(i), vocab.texts[int(i)], float(p)) for i, p in zip(ids, probs)])
        self.p_curve.setData(ALPHAS, les.alpha_top_prob)
        self.h_curve.setData(ALPHAS, entropy_fraction(les.alpha_entropy, len(les.logits)))
        self.t_curve.setData(TEMPERATURES, les.temp_top_prob)
        top = int(les.closest.by_dot[0])
        p1 = float(np.interp(1.0, TEMPERATURES, les.temp_top_prob))
        self.t_name.setText(f"p({quoted(vocab.texts[top])}) = {p1:.2f} at T = 1")
        # Above the curve where it falls away to the right of T = 1; below it only when
        # above would leave the plot.
        above = p1 < 0.6
        self.t_name.setAnchor((0, 1) if above else (0, 0))
        self.t_name.setPos(1.08, p1 + 0.04 if above else p1 - 0.04)
