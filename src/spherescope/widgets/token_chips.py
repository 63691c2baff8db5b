"""The prompt's tokenisation as chips: text with visible spaces, and the token id.

Clicking a chip follows that position (the session's `position`). A wrapping
QListWidget rather than a layout of buttons: a long prompt has thousands of tokens,
and a list view draws only what is visible.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from spherescope.core.text import visible
from spherescope.state.session import Session


class TokenChips(QListWidget):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenChips")
        self.session = session
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(3)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(60)
        self.setMouseTracking(True)
        self.itemClicked.connect(lambda item: setattr(session, "position", self.row(item)))
        session.tokens_changed.connect(self._on_tokens)
        session.position_changed.connect(self._on_position)

    def _on_tokens(self, tokens) -> None:
        self.clear()
        fm = self.fontMetrics()
        for i, tok in enumerate(tokens):
            text = f"{visible(tok.text, 24)}\n{tok.id}"
            item = QListWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setToolTip(f"position {i}: {tok.text!r} (id {tok.id}); click to follow this position")
            w = max(fm.horizontalAdvance(line) for line in text.split("\n")) + 14
            item.setSizeHint(QSize(w, 2 * fm.height() + 8))
            self.addItem(item)
        self._on_position(self.session.position)

    def _on_position(self, pos: int) -> None:
        if 0 <= pos < self.count():
            self.setCurrentRow(pos)
            self.scrollToItem(self.item(pos))

    def texts(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]
