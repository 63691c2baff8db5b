"""Token norms: histograms of embedding (and untied unembedding) row lengths, and outliers."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LessonDock, THEME, caption, plot_widget, token_label
from spherescope.widgets.bind import bind


class TokenNormsDock(LessonDock):
    """Token norms: histograms of embedding (and untied unembedding) row lengths, and outliers."""

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.plot = plot_widget(self.theme, "Token vector lengths", "tokens", "|row|")
        self.longest = QListWidget()
        self.shortest = QListWidget()
        for lw in (self.longest, self.shortest):
            lw.setMaximumWidth(200)
            lw.itemClicked.connect(lambda item: setattr(session, "highlight", int(item.data(Qt.ItemDataRole.UserRole))))
        self.center = QCheckBox("Centre the unembedding cloud on the sphere (softmax ignores the shared mean)")
        bind(self.center, session, "center_cloud")
        lists = QVBoxLayout()
        lists.addWidget(QLabel("Longest"))
        lists.addWidget(self.longest)
        lists.addWidget(QLabel("Shortest"))
        lists.addWidget(self.shortest)
        row = QHBoxLayout()
        row.addWidget(self.plot, 1)
        row.addLayout(lists)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Most tokens have about the same length, so direction is what tells them apart; a tail of outliers "
            "(rare or unused tokens) is much longer or shorter. Click one to find it on the sphere."))
        lay.addLayout(row, 1)
        lay.addWidget(self.center)
        session.model_stats_changed.connect(lambda *_: self.refresh(), owner=self)
        session.vocab_changed.connect(lambda *_: self.refresh(), owner=self)

    def refresh(self) -> None:
        st, vocab = self.s.model_stats, self.s.vocab
        self.plot.clear()
        self.longest.clear()
        self.shortest.clear()
        if st is None:
            return
        h = st.embed_hist
        self.plot.plot(h.edges, h.counts, stepMode="center", fillLevel=0, brush=self.theme.second_fill,
                       pen=pg.mkPen(self.theme.second), name="embedding")
        if st.unembed_hist is not None:
            u = st.unembed_hist
            self.plot.plot(u.edges, u.counts, stepMode="center", fillLevel=0, brush=self.theme.accent_fill,
                           pen=pg.mkPen(self.theme.accent), name="unembedding")
        self.plot.setTitle("Token vector lengths: embedding" + (" (blue) and unembedding (orange)" if st.unembed_hist is not None else " (tied: the same rows unembed)"),
                           color=self.theme.title, size="9pt")
        for lw, ids in ((self.longest, h.longest), (self.shortest, h.shortest)):
            for i in ids:
                item = QListWidgetItem(f"{token_label(vocab, i)}  {h.lengths[int(i)]:.2f}")
                item.setData(Qt.ItemDataRole.UserRole, int(i))
                lw.addItem(item)

    def figure(self):
        """The plot alone, for a picture (the dock is a throwaway copy when exporting)."""
        self.plot.setParent(None)
        return self.plot
