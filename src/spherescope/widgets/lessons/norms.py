"""Residual norms: one line per prompt position over the layers."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from spherescope.state.session import Session
from spherescope.widgets.lessons.common import THEME, LazyRefresh, caption, plot_widget


class NormsDock(LazyRefresh, QWidget):
    """Residual norm across layers, one line per position."""

    def __init__(self, session: Session, controller=None, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.plot = plot_widget("Residual norm |h| by layer", "|h|", "layer")
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(THEME.cursor, width=1))
        self.plot.addItem(self.cursor)
        self.log = QCheckBox("Log scale")
        # Log by default: the first position is often an attention sink tens of times longer.
        self.log.setChecked(True)
        self.plot.setLogMode(y=True)
        self.log.toggled.connect(lambda v: (self.plot.setLogMode(y=v), self.refresh()))
        self.final = QLabel("")
        self.final.setWordWrap(True)
        self.curves: list = []
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
        session.layer_changed.connect(lambda layer: self.cursor.setValue(layer))

    def refresh(self) -> None:
        norms = self.s.all_norms()
        if norms is None:
            for c in self.curves:
                self.plot.removeItem(c)
            self.curves = []
            self.final.setText("")
            return
        x = np.arange(norms.shape[0])
        n_pos = norms.shape[1]
        # Curves are kept and updated in place: rebuilding them on every streamed
        # layer cost ~30 ms of GUI time per frame.
        while len(self.curves) > n_pos:
            self.plot.removeItem(self.curves.pop())
        while len(self.curves) < n_pos:
            self.curves.append(self.plot.plot())
        for p, c in enumerate(self.curves):
            followed = p == self.s.position
            color = QColor(THEME.accent) if followed else QColor(*THEME.muted)
            c.setPen(pg.mkPen(color, width=3 if followed else 1))
            c.setZValue(10 if followed else 0)
            c.setData(x, np.maximum(norms[:, p], 1e-6))
        self.cursor.setValue(self.s.layer)
        tr = self.s.trace
        if tr is not None and tr.position == self.s.position:
            self.final.setText(f"Last layer: |h| = {norms[-1, self.s.position]:,.1f} before the final norm, "
                               f"{tr.final_normed_norm:,.1f} after it.")
        else:
            self.final.setText("")

    def curve_count(self) -> int:
        return len(self.curves)
