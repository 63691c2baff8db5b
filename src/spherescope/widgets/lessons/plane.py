"""The article's plane: the hidden state, unnormalised, in the plane of two tokens.

x runs along the first token's direction, y along the second's made orthogonal to
it; both token directions are drawn as arrows. On the article's prompt the state
wanders about 30° from ' Mary' for most of the model, then turns onto it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from spherescope.core.plane import log_radial
from spherescope.core.set_plane import SetPlane, set_plane
from spherescope.core.text import counted, quoted
from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import AspectFit, LazyRefresh, LessonDock, THEME, caption, plot_widget
from spherescope.widgets.bind import bind
from spherescope.widgets.lessons.set_plane import SetPlaneLayer, describe_layer

LAYER_LABEL_EVERY = 5


class PlaneDock(LazyRefresh, LessonDock):
    look_down_requested = Signal()  # show the same plane on the sphere, seen from above

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self.plot = plot_widget(self.theme, "Plane of two tokens", "along the second token, ⟂ the first", "along the first token")
        self.plot.setObjectName("planePlot")
        self.plot.setAspectLocked(True)
        self.plot.setMinimumHeight(120)
        self._cmap = pg.colormap.get("plasma")
        self.path = self.plot.plot(pen=pg.mkPen(self.theme.axis, width=1.5))
        self.nodes = pg.ScatterPlotItem(size=7, pen=None)
        self.plot.addItem(self.nodes)
        self.vector = self.plot.plot(pen=pg.mkPen(self.theme.cursor, width=1.5, style=Qt.PenStyle.DashLine))
        self.marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen(self.theme.cursor, width=2), brush=None)
        self.plot.addItem(self.marker)
        self.arrows: list = []
        self.layer_labels: list[pg.TextItem] = []
        self._build_controls(session)
        self._lay_out()
        for sig in (session.frame_added, session.trace_finished, session.trace_started, session.position_changed,
                    session.plane_tokens_changed, session.appearance.plane_scale_changed, session.vocab_changed,
                    session.center_cloud_changed, session.cloud_space_changed, session.sets.summary_changed,
                    session.sets.in_plane_changed):
            sig.connect(self.request_refresh)
        session.layer_changed.connect(lambda _l: self._dirty or self.after_frame("layer", self._on_layer), owner=self)
        self._coords = None  # (x, y) as drawn, per layer
        self._plane = None

    def _build_controls(self, session) -> None:
        self.scale = QComboBox()
        self.scale.setObjectName("planeScale")
        self.scale.addItem("Radius: log₁₀(1 + |h|)", "log")
        self.scale.addItem("Radius: linear", "linear")
        self.scale.setToolTip("Log keeps the early layers (|h| of a few units) apart from the origin; the angles are the same")
        bind(self.scale, session.appearance, "plane_scale")
        self.pair_button = QPushButton("Prediction vs contrast")
        self.pair_button.setToolTip("The top prediction and the best-ranked token that also occurs in the prompt")
        self.pair_button.clicked.connect(self.use_contrast_pair)
        self.set_check = QCheckBox("Prompt set")
        self.set_check.setObjectName("planeSet")
        self.set_check.setToolTip("Every prompt of the traced set in its own plane of target and contrast: the "
                                  "quartiles of the angle as an arc at each layer, the median path bold (run a set with target "
                                  "and contrast columns first)")
        bind(self.set_check, session.sets, "in_plane")
        self.set_layer = SetPlaneLayer(self.plot, self.theme)
        self.down_button = QPushButton("Show on the sphere")
        self.down_button.setToolTip("The token-plane basis, seen from straight above the plane")
        self.down_button.clicked.connect(self.look_down_requested.emit)
        self.readout = QLabel("")
        self.readout.setObjectName("planeReadout")
        self.readout.setWordWrap(True)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.scale)
        row.addWidget(self.set_check)
        row.addStretch(1)
        row.addWidget(self.pair_button)
        row.addWidget(self.down_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "The article's figure: the hidden state in the plane of two tokens, with its length. The arrows are the "
            "two token directions (x along the first, y along the second made orthogonal to it). The logit of each is "
            "the state's length along its arrow; the direction decides which wins, the length how confidently."))
        lay.addLayout(row)
        self.fit = AspectFit(self.plot)
        self.fit.setMinimumHeight(120)  # the plot inside never taller than the fit: it overlapped the readout
        lay.addWidget(self.fit, 1)
        lay.addWidget(self.readout)

    def use_contrast_pair(self) -> None:
        pair = self.s.contrast_pair()
        if pair is None:
            if self.controller is not None:
                self.controller.notify("Run a prompt first: the plane uses its prediction and a contrast.")
            return
        self.s.plane_tokens = pair

    def refresh(self) -> None:
        for item in self.arrows + self.layer_labels:
            self.plot.removeItem(item)
        self.arrows, self.layer_labels = [], []
        log = self.s.appearance.plane_scale == "log"
        whole = set_plane(self.s.sets.summary)
        self.set_check.setEnabled(whole is not None)
        if whole is not None and self.s.sets.in_plane:
            self._plane = whole
            x, y = self.set_layer.show(whole, log)
            apart = whole.apart if whole.apart is not None else 90.0
            self._draw(x, y, self.set_layer.extent(whole, log), log, ("target", apart, "contrast"),
                       f"{counted(whole.n, 'prompt')}, each in its own plane",
                       ("its target", "its contrast"))
            return
        self.set_layer.visible(False)
        plane, why = self.s.plane_path()
        self._plane = plane
        if plane is None:
            self._coords = None
            self.path.setData([], [])
            self.nodes.setData([], [])
            self.marker.setData([], [])
            self.vector.setData([], [])
            self.readout.setText(why)
            self.plot.setTitle("Plane of two tokens", color=self.theme.title, size="9pt")
            self.plot.set_empty(why)
            self.fit.set_aspect(None)
            return
        vocab = self.s.vocab
        a, b = (quoted(vocab.texts[int(i)]) for i in self.s.plane_tokens[:2])
        x, y = log_radial(plane.x, plane.y) if log else (plane.x, plane.y)
        self._draw(x, y, (x, y), log, (a, plane.second_angle, b),
                   f"Plane of {a} and {b} ({plane.second_angle:.0f}° apart)")

    def _draw(self, x, y, extent, log: bool, pair, title: str, names: tuple[str, str] | None = None) -> None:
        """The path (x, y per layer) with its layer colours and labels, the two arrows,
        the axes named after the pair, framed to hold `extent` (every point drawn)."""
        self.plot.set_empty(None)
        a, second_angle, b = pair
        self._coords = (x, y)
        n = len(x)
        total = max(self.s.num_layers or (n - 1), 1)
        colors = self._cmap.map(np.arange(n) / total * 0.9, mode="byte")
        self.path.setData(x, y)
        self.nodes.setData(x, y, brush=[pg.mkBrush(*c) for c in colors])
        ex, ey = extent
        reach = max(float(np.hypot(ex, ey).max()), 1e-6) * 1.18
        for text, angle, color in ((a, 0.0, self.theme.accent), (b, second_angle, self.theme.second)):
            self._arrow(reach, np.radians(angle), text, color)
        label_font = QFont()
        label_font.setPointSizeF(8)
        for i in range(n):
            if i % LAYER_LABEL_EVERY and i != n - 1:
                continue
            t = pg.TextItem(str(i), color=self.theme.axis, anchor=(0, 1))
            t.setFont(label_font)
            t.setPos(float(x[i]), float(y[i]))
            self.plot.addItem(t)
            self.layer_labels.append(t)
        unit = "log₁₀(1 + r)" if log else "r"
        first, second = names or (a, b)
        self.plot.setLabel("bottom", f"along {first} ({unit})", color=self.theme.axis)
        self.plot.setLabel("left", f"along {second} ⟂ {first}", color=self.theme.axis)
        self.plot.setTitle(title, color=self.theme.title, size="9pt")
        # The frame holds the path and both arrows with their labels; the locked aspect
        # then widens whichever side is short, around that box.
        tips_x = [0.0, reach, reach * np.cos(np.radians(second_angle))]
        tips_y = [0.0, 0.0, reach * np.sin(np.radians(second_angle))]
        xs, ys = np.r_[ex, tips_x], np.r_[ey, tips_y]
        xs, ys = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
        pad = 0.12 * reach
        x0, x1 = float(xs.min()) - pad, float(xs.max()) + 2.2 * pad
        y0, y1 = float(ys.min()) - pad, float(ys.max()) + 2.0 * pad  # room for the upper arrow's label
        self.plot.setXRange(x0, x1, padding=0)
        self.plot.setYRange(y0, y1, padding=0)
        self.fit.set_aspect((x1 - x0) / (y1 - y0))
        self._on_layer()

    def _arrow(self, reach: float, theta: float, text: str, color: str) -> None:
        tip = (reach * np.cos(theta), reach * np.sin(theta))
        shaft = self.plot.plot([0, tip[0]], [0, tip[1]], pen=pg.mkPen(color, width=2))
        # ArrowItem's angle is on screen (y down), 0 pointing left: 180 - θ points along θ.
        head = pg.ArrowItem(pos=tip, angle=180 - np.degrees(theta), headLen=14, tipAngle=30, pen=None, brush=color)
        self.plot.addItem(head)
        label = pg.TextItem(text, color=color, anchor=(0, 0.5) if theta < 0.3 else (0.5, 1.1))
        font = QFont()
        font.setPointSizeF(10)
        font.setBold(True)
        label.setFont(font)
        label.setPos(*tip)
        self.plot.addItem(label)
        self.arrows += [shaft, head, label]

    def _on_layer(self) -> None:
        if self._coords is None or self._plane is None:
            return
        x, y = self._coords
        i = min(max(self.s.layer, 0), len(x) - 1)
        self.marker.setData([x[i]], [y[i]], brush=QColor(0, 0, 0, 0))
        self.vector.setData([0, x[i]], [0, y[i]])
        p = self._plane
        if isinstance(p, SetPlane):
            self.readout.setText(describe_layer(p, i))
            return
        a = self.s.vocab.texts[int(self.s.plane_tokens[0])]
        self.readout.setText(
            f"Layer {i}: {p.angle[i]:.1f}° from {quoted(a)} within the plane, {np.hypot(p.x[i], p.y[i]):,.1f} along "
            f"it; the plane keeps {100 * p.kept[i]:.0f}% of |h| = {p.norm[i]:,.1f}, so h itself is "
            f"{p.true_angle[i]:.0f}° from {quoted(a)} (cos {p.cos_first[i]:.3f}).")

    def figure(self):
        """The plot alone, for a picture (the dock is a throwaway copy when exporting)."""
        self.plot.setParent(None)
        return self.plot
