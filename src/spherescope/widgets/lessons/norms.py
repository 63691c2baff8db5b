"""Residual norms: one line per prompt position over the layers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout

from spherescope.core.plane import find_sinks
from spherescope.core.text import quoted
from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LazyRefresh, LessonDock, THEME, caption, plot_widget


class NormsDock(LazyRefresh, LessonDock):
    """Residual norm across layers, one line per position."""

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.plot = plot_widget(self.theme, "Residual norm |h| by layer", "|h|", "layer")
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(self.theme.cursor, width=1))
        self.plot.addItem(self.cursor)
        self.log = QCheckBox("Log scale")
        # Log by default: the first position is often an attention sink tens of times longer.
        self.log.setChecked(True)
        self.plot.setLogMode(y=True)
        self.log.toggled.connect(lambda v: (self.plot.setLogMode(y=v), self.refresh()))
        self.final = QLabel("")
        self.final.setWordWrap(True)
        self.curves: list = []
        # Hovering names the nearest line; a sink (a position whose norm dwarfs the
        # others) is labelled with its reason.
        self.hover = pg.TextItem("", color=self.theme.text, anchor=(0, 1), fill=pg.mkBrush(*self.theme.plate))
        self.hover.setZValue(30)
        self.hover.hide()
        self.plot.addItem(self.hover, ignoreBounds=True)
        self.sink_label = pg.TextItem("", color=self.theme.accent, anchor=(1, 0))
        self.sink_label.setZValue(20)
        self.sink_label.hide()
        self.plot.addItem(self.sink_label, ignoreBounds=True)
        self.sinks: list = []
        self.hovered: int | None = None  # the position whose line is named, or None
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Residual norms grow through the layers: the model grows confidence by length, while every block "
            "(after its layer norm) sees only the direction. The followed position is the thick line."))
        lay.addWidget(self.plot, 1)
        row = QHBoxLayout()
        row.addWidget(self.log)
        row.addWidget(self.final, 1)
        lay.addLayout(row)
        for sig in (session.frame_added, session.position_changed, session.trace_started, session.trace_finished):
            sig.connect(self.request_refresh)
        session.layer_changed.connect(lambda layer: self.after_frame("cursor", lambda: self.cursor.setValue(layer)), owner=self)

    def refresh(self) -> None:
        norms = self.s.all_norms()
        if norms is None:
            for c in self.curves:
                self.plot.removeItem(c)
            self.curves = []
            self.final.setText("")
            self.sink_label.hide()
            self.hover.hide()
            self.plot.set_empty("Run a prompt to see each position's residual norm grow through the layers.")
            return
        self.plot.set_empty(None)
        x = np.arange(norms.shape[0])
        n_pos = norms.shape[1]
        # Curves are kept and updated in place: rebuilding them on every streamed
        # layer cost most of a frame's GUI time.
        while len(self.curves) > n_pos:
            self.plot.removeItem(self.curves.pop())
        while len(self.curves) < n_pos:
            self.curves.append(self.plot.plot())
        for p, c in enumerate(self.curves):
            followed = p == self.s.position
            color = QColor(self.theme.accent) if followed else QColor(*self.theme.muted)
            c.setPen(pg.mkPen(color, width=3 if followed else 1))
            c.setZValue(10 if followed else 0)
            c.setData(x, np.maximum(norms[:, p], 1e-6))
        self.cursor.setValue(self.s.layer)
        self._label_sinks(norms)
        tr = self.s.trace
        if tr is not None and tr.position == self.s.position:
            self.final.setText(f"Last layer: |h| = {norms[-1, self.s.position]:,.1f} before the final norm, "
                               f"{tr.final_normed_norm:,.1f} after it.")
        else:
            self.final.setText("")

    def _on_mouse(self, scene_pos) -> None:
        norms = self.s.all_norms()
        vb = self.plot.getPlotItem().getViewBox()
        if norms is None or not vb.sceneBoundingRect().contains(scene_pos):
            self.hover.hide()
            self.hovered = None
            return
        pt = vb.mapSceneToView(scene_pos)
        layer = int(np.clip(round(pt.x()), 0, norms.shape[0] - 1))
        values = np.maximum(norms[layer], 1e-6)
        shown = np.log10(values) if self.log.isChecked() else values
        p = int(np.argmin(np.abs(shown - pt.y())))
        self.hovered = p
        tok = self.s.tokens[p].text if p < len(self.s.tokens) else ""
        self.hover.setText(f"position {p} ({quoted(tok)}): |h| = {values[p]:,.1f} at layer {layer}")
        self.hover.setPos(pt.x(), pt.y())
        self.hover.show()

    def _label_sinks(self, norms: np.ndarray) -> None:
        residuals = self.s.trace.residuals if self.s.trace is not None else None
        self.sinks = find_sinks(norms, residuals)
        if not self.sinks:
            self.sink_label.hide()
            return
        k = self.sinks[0]
        tok = self.s.tokens[k.position].text if k.position < len(self.s.tokens) else ""
        dims = ", ".join(str(d) for d in k.dims)
        carried = f";\n{100 * k.share:.0f}% of |h|² in dimension{'s' if len(k.dims) > 1 else ''} {dims}" if k.dims else ""
        # Short lines, right-aligned under the curve's end: one long line ran off the
        # plot's left edge in a slide-sized figure.
        self.sink_label.setText(
            f"position {k.position} ({quoted(tok)}): attention sink,\n|h| up to {k.norm:,.0f} "
            f"({k.ratio:.0f}× the others){carried}: massive activations")
        y = np.log10(max(k.norm, 1e-6)) if self.log.isChecked() else k.norm
        self.sink_label.setPos(norms.shape[0] - 1, y)
        self.sink_label.show()

    def curve_count(self) -> int:
        return len(self.curves)

    def figure(self):
        """The plot alone, for a picture (the dock is a throwaway copy when exporting)."""
        self.plot.setParent(None)
        return self.plot
