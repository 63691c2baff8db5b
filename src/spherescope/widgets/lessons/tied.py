"""Tied or untied: one matrix to embed and unembed, or two, and how far they part."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout

from spherescope.core.lessons import cosine_histogram
from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LessonDock, THEME, caption, plot_widget
from spherescope.widgets.bind import bind


class TiedDock(LessonDock):
    """Tied or untied input and output embeddings."""

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.statement = QLabel("")
        self.statement.setWordWrap(True)
        self.statement.setObjectName("tiedStatement")
        self.plot = plot_widget(self.theme, "cos(W_E[t], W_U[t]) over the vocabulary", "tokens", "cosine")
        self.space = QComboBox()
        self.space.setObjectName("cloudSpace")
        self.space.addItem("Output space: unembedding rows (where logits are dot products)", "unembedding")
        self.space.addItem("Input space: embedding rows", "embedding")
        bind(self.space, session, "cloud_space")
        space_row = QHBoxLayout()
        space_row.addWidget(QLabel("Tokens on the sphere"))
        space_row.addWidget(self.space, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "GPT-2-era models use one matrix to embed and unembed; most newer ones learn two, because the next "
            "token is rarely the current one. When they are separate, input and output directions part ways."))
        lay.addWidget(self.statement)
        lay.addLayout(space_row)
        lay.addWidget(self.plot, 1)
        lay.addStretch(0)
        session.model_stats_changed.connect(lambda *_: self.refresh(), owner=self)
        session.vocab_changed.connect(lambda *_: self.refresh(), owner=self)

    def sync(self) -> None:
        """Everything from the session as it is now (a dock made after the model loaded)."""
        self.space.setCurrentIndex(max(0, self.space.findData(self.s.cloud_space)))
        self.refresh()

    def refresh(self) -> None:
        st, info = self.s.model_stats, self.s.model_info
        self.plot.clear()
        vocab = self.s.vocab
        # (The controller switches the cloud back to the output space for a model without
        # a separate input space.)
        self.space.setEnabled(vocab is not None and vocab.embed is not None)
        if st is None or info is None:
            self.statement.setText("")
            return
        if st.tied:
            self.statement.setText(f"{info.name} ties its embeddings: the unembedding is the embedding matrix "
                                   "(W_U = W_E), so a token's input and output directions are the same.")
            self.plot.hide()
            return
        self.plot.show()
        if st.tied_cos is None:
            self.statement.setText(f"{info.name} has separate input and output embeddings of different shapes.")
            return
        counts, edges, median = cosine_histogram(st.tied_cos)
        self.plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=self.theme.third_fill, pen=pg.mkPen(self.theme.third))
        self.statement.setText(f"{info.name} learns separate input and output embeddings: median cos(W_E[t], W_U[t]) = "
                               f"{median:.2f}. Choose which space the sphere's tokens come from; "
                               "the lens and the trajectory are the same either way.")

    def figure(self):
        """The plot alone, for a picture (the dock is a throwaway copy when exporting); a
        tied model's picture says it is tied."""
        self.plot.setParent(None)
        st, info = self.s.model_stats, self.s.model_info
        if st is not None and info is not None and st.tied:
            # One matrix, so no cosine between two to show: its row lengths instead,
            # the one thing about it that still varies token by token.
            self.plot.show()
            self.plot.clear()
            h = st.embed_hist
            self.plot.plot(h.edges, h.counts, stepMode="center", fillLevel=0, brush=self.theme.third_fill,
                           pen=pg.mkPen(self.theme.third))
            self.plot.setLabel("bottom", "row length |W_E[t]| = |W_U[t]|", color=self.theme.axis)
            self.plot.setLabel("left", "tokens", color=self.theme.axis)
            self.plot.getPlotItem().enableAutoRange()
            self.plot.setTitle("Tied embeddings (W_U = W_E): one matrix, one direction per token; its row lengths",
                               color=self.theme.title, size="9pt")
        return self.plot
