"""The prompt's tokenisation as chips: text with visible spaces, and the token id.

Clicking a chip follows that position (the session's `position`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QPushButton, QScrollArea, QWidget

from spherescope.core.text import visible
from spherescope.state.session import Session
from spherescope.widgets.flow_layout import FlowLayout

MAX_CHIPS = 2000  # beyond this a chip per token is unreadable and slow; the rest are summarised


class TokenChips(QScrollArea):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumHeight(60)
        self._inner = QWidget()
        self._flow = FlowLayout(self._inner)
        self.setWidget(self._inner)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self._on_clicked)
        self.chips: list[QPushButton] = []
        session.tokens_changed.connect(self._on_tokens)
        session.position_changed.connect(self._on_position)

    def _on_tokens(self, tokens) -> None:
        for chip in self.chips:
            self._group.removeButton(chip)
            chip.deleteLater()
        self.chips = []
        for i, tok in enumerate(tokens[:MAX_CHIPS]):
            chip = QPushButton(f"{visible(tok.text, 24)}\n{tok.id}")
            chip.setObjectName("tokenChip")
            chip.setCheckable(True)
            chip.setToolTip(f"position {i}: {tok.text!r} (id {tok.id}); click to follow this position")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            self._group.addButton(chip, i)
            self._flow.addWidget(chip)
            self.chips.append(chip)
        if len(tokens) > MAX_CHIPS:
            more = QPushButton(f"… {len(tokens) - MAX_CHIPS:,} more")
            more.setEnabled(False)
            self._flow.addWidget(more)
            self.chips.append(more)
        self._on_position(self.session.position)

    def _on_position(self, pos: int) -> None:
        if 0 <= pos < len(self.chips) and self.chips[pos].isCheckable():
            self.chips[pos].setChecked(True)
            self.ensureWidgetVisible(self.chips[pos])

    def _on_clicked(self, index: int) -> None:
        self.session.position = index
