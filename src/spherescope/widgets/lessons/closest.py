"""Closest by which measure? The dot product (the logit) against cosine and Euclidean distance."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LazyRefresh, LessonDock, THEME, caption, token_label


def _cells(c, vocab, dot_set) -> list[list[tuple[int, str, bool]]]:
    """Each row of the table: (token id, text, marked) for the four columns."""
    rows = []
    for r in range(len(c.by_dot)):
        i, j, k = int(c.by_dot[r]), int(c.by_cos[r]), int(c.by_euclid[r])
        b = f" + {c.bias[r]:.2f}" if abs(float(c.bias[r])) > 1e-9 else ""
        rows.append([
            (i, f"{token_label(vocab, i)}   {c.logits[r]:.2f}", True),
            (i, f"{c.x_norm:.1f} · {c.u_norm[r]:.2f} · {c.cos_dot[r]:.3f}{b}", False),
            (j, f"{'● ' if j in dot_set else ''}{token_label(vocab, j)}   {c.cos[r]:.3f}", j in dot_set),
            (k, f"{'● ' if k in dot_set else ''}{token_label(vocab, k)}   {c.dist[r]:.2f}", k in dot_set),
        ])
    return rows


class ClosestDock(LazyRefresh, LessonDock):
    """Closest by which measure? dot product (the logit) vs cosine vs Euclidean distance."""

    HEADERS = ("by dot product = logit", "|x|·|u|·cos θ", "by cosine", "by Euclidean distance")
    FIGURE_HEADERS = ("by dot product\n= logit", "= |x|·|u|·cos θ", "by cosine", "by Euclidean\ndistance")

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.table = QTableWidget(10, 4)
        self.table.setObjectName("closestTable")
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMouseTracking(True)
        self.table.cellEntered.connect(self._hover)
        self.table.cellClicked.connect(self._hover)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "The model ranks tokens by dot product (the logit), not by distance. Compare the lists: "
            "● marks a token that is also in the dot-product list; the Euclidean 'closest' tokens are often not what the model predicts."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)
        self._ids: dict[tuple[int, int], int] = {}
        for sig in (session.position_changed, session.lessons_changed):
            sig.connect(self.request_refresh)
        session.layer_changed.connect(self.request_frame_refresh)

    def refresh(self) -> None:
        les = self.s.current_lesson()
        vocab = self.s.vocab
        self._ids = {}
        if les is None or vocab is None:
            self.table.clearContents()
            # The lists for every layer come from the worker a moment after the trace.
            waiting = self.s.trace is not None
            self.summary.setText("Ranking the whole vocabulary for every layer…" if waiting else "Run a prompt to compare the measures.")
            return
        c = les.closest
        dot_set = set(int(i) for i in c.by_dot)
        # One repaint for the 40 cells, not one per cell.
        self.table.setUpdatesEnabled(False)
        try:
            self._fill(c, vocab, dot_set)
        finally:
            self.table.setUpdatesEnabled(True)
        shared_cos = len(dot_set & set(int(i) for i in c.by_cos))
        shared_euc = len(dot_set & set(int(i) for i in c.by_euclid))
        self.summary.setText(
            f"Layer {self.s.layer}: |x| = {c.x_norm:.1f} after the final norm. Of the top {len(c.by_dot)} by logit, "
            f"{shared_cos} are also top by cosine and {shared_euc} by Euclidean distance.")

    def _fill(self, c, vocab, dot_set) -> None:
        for r, row in enumerate(_cells(c, vocab, dot_set)):
            for col, (token, text, mark) in enumerate(row):
                self._set(r, col, token, text, mark)

    def figure(self):
        """The table alone, as a picture: a plot with the cells as text (exports and SVG)."""
        import pyqtgraph as pg

        from spherescope.render.plots import composite

        th = self.theme
        plot = pg.PlotItem()
        for side in ("left", "bottom"):
            plot.hideAxis(side)
        plot.setMouseEnabled(False, False)
        plot.invertY(True)
        les, vocab = self.s.current_lesson(), self.s.vocab
        rows = [] if les is None or vocab is None else _cells(les.closest, vocab, {int(i) for i in les.closest.by_dot})
        for col, header in enumerate(self.FIGURE_HEADERS):  # two lines each: a slide's columns are narrow
            self._cell(plot, col, 0.45, header, th.title, bold=True, anchor=(0, 1))
        for r, row in enumerate(rows, start=1):
            for col, (_token, text, mark) in enumerate(row):
                self._cell(plot, col, r, text, th.accent if mark and col else th.text)
        if les is not None:  # its sentences on lines of their own, not off the picture's edge
            text = self.summary.text().replace(". ", ".\n")
            self._cell(plot, 0, len(rows) + 0.8, text, th.axis, anchor=(0, 0))
        plot.setXRange(0, len(self.HEADERS), padding=0.01)
        plot.setYRange(-1.4, max(len(rows), 10) + 2.8, padding=0)
        return composite(th.background, [[plot]])

    @staticmethod
    def _cell(plot, col: float, row: float, text: str, color: str, bold: bool = False, anchor=(0, 0.5)) -> None:
        import pyqtgraph as pg
        from PySide6.QtGui import QFont

        item = pg.TextItem(text, color=color, anchor=anchor)
        font = QFont()
        font.setPointSizeF(10)
        font.setBold(bold)
        item.setFont(font)
        item.setPos(col + 0.03, row)
        plot.addItem(item)

    def _set(self, r: int, col: int, token: int, text: str, mark: bool) -> None:
        # Reuse the cell's item: a layer step then only changes text and colour.
        item = self.table.item(r, col)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(r, col, item)
        item.setText(text)
        item.setForeground(QColor(self.theme.accent) if mark and col else self.table.palette().color(self.table.foregroundRole()))
        self._ids[(r, col)] = token

    def column_ids(self, col: int) -> list[int]:
        return [self._ids[(r, col)] for r in range(self.table.rowCount()) if (r, col) in self._ids]

    def _hover(self, r: int, c: int) -> None:
        if (r, c) in self._ids:
            self.s.highlight = self._ids[(r, c)]
