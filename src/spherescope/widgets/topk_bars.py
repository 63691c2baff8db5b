"""A compact list of tokens with probability bars, painted directly for speed."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from spherescope.core.text import visible
from spherescope.render.styles import DARK_PLOT as THEME


class TopKBars(QWidget):
    token_clicked = Signal(int)
    token_hovered = Signal(int)  # -1 when the pointer leaves

    ROW = 20

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[int, str, float]] = []  # (id, text, prob)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._hover = -1

    def set_rows(self, rows: list[tuple[int, str, float]]) -> None:
        self.rows = list(rows)
        self.updateGeometry()
        self.update()

    def texts(self) -> list[str]:
        return [t for _, t, _ in self.rows]

    hint_width = 260  # narrower when two lists share a dock

    def sizeHint(self) -> QSize:
        return QSize(self.hint_width, max(1, len(self.rows)) * self.ROW + 4)

    def minimumSizeHint(self) -> QSize:
        # Five rows, whatever the list holds: a minimum of all ten made the window
        # taller than a 1000-pixel screen once a trace filled the list.
        return QSize(180, 5 * self.ROW + 4)

    def visible_rows(self) -> int:
        """How many rows fit whole; a squeezed list shows fewer rows, never half a row."""
        return min(len(self.rows), max(0, (self.height() - 4) // self.ROW))

    def paintEvent(self, ev) -> None:
        # Ended explicitly, not by the painter's destructor: anything holding this frame
        # (a traceback, a profiler, a stack sampler) kept it active past the paint, and
        # Qt warned "endPaint() called with active painter" and dropped the frame.
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = QFontMetrics(self.font())
        w = self.width()
        text_w = min(140, int(w * 0.42))
        num_w = fm.horizontalAdvance("100.0%") + 6
        bar_x = text_w + 8
        bar_w = max(10, w - bar_x - num_w - 4)
        pal = self.palette()
        if not self.rows:
            p.setPen(pal.color(pal.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Run a prompt to see the logit lens")
            return
        for i, (tid, text, prob) in enumerate(self.rows[:self.visible_rows()]):
            y = 2 + i * self.ROW
            if i == self._hover:
                p.fillRect(0, y, w, self.ROW, pal.color(pal.ColorRole.Highlight).darker(220))
            p.setPen(pal.color(pal.ColorRole.Text))
            label = fm.elidedText(visible(text, 30), Qt.TextElideMode.ElideRight, text_w)
            p.drawText(QRectF(4, y, text_w, self.ROW), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
            p.fillRect(QRectF(bar_x, y + 4, bar_w, self.ROW - 8), QColor(*THEME.bar_track))
            p.fillRect(QRectF(bar_x, y + 4, max(1.0, bar_w * float(prob)), self.ROW - 8), QColor(*THEME.bar_top) if i == 0 else QColor(*THEME.bar))
            p.drawText(QRectF(bar_x + bar_w + 4, y, num_w, self.ROW), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{100 * prob:.1f}%")

    def _row_at(self, y: float) -> int:
        i = int((y - 2) // self.ROW)
        return i if 0 <= i < len(self.rows) else -1

    def mouseMoveEvent(self, ev) -> None:
        i = self._row_at(ev.position().y())
        if i != self._hover:
            self._hover = i
            self.update()
            self.token_hovered.emit(self.rows[i][0] if i >= 0 else -1)

    def leaveEvent(self, ev) -> None:
        if self._hover != -1:
            self._hover = -1
            self.update()
            self.token_hovered.emit(-1)

    def mousePressEvent(self, ev) -> None:
        i = self._row_at(ev.position().y())
        if i >= 0:
            self.token_clicked.emit(self.rows[i][0])
