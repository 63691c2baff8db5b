"""Embed -> unembed: one token's one-hot, embedded and unembedded again, over the vocabulary."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from spherescope.core.lessons import top_peaks
from spherescope.core.text import visible
from spherescope.state.session import Session
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import LessonDock, THEME, caption, plot_widget, token_label
from spherescope.widgets.bind import bind


class RoundTripDock(LessonDock):
    """Embed -> unembed round trip of one token, by transpose or pseudo-inverse.

    The whole-vocabulary counts (a V x V product per mode) start the first time this
    dock is shown (the main window sets session.roundtrip.wanted), not at every model
    load: they would otherwise compete with runs."""

    def __init__(self, session: Session, controller, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self.token = QLineEdit()
        self.token.setObjectName("roundTripToken")
        self.token.setPlaceholderText("token, e.g. ␣NEXT")
        self.token.returnPressed.connect(self._choose)
        self.token.textEdited.connect(lambda t: self.token.setText(t.replace(" ", "␣")) if " " in t else None)
        self.mode = QComboBox()
        self.mode.addItem("Transpose (Wᴱᵀ)", "transpose")
        self.mode.addItem("Normalised transpose (rows ÷ |row|²: peak 1.0)", "normalised")
        self.mode.addItem("Pseudo-inverse", "pinv")
        self.mode.setToolTip("How the embedding is unembedded again: the article's transpose, its normalised "
                             "transpose (each row divided by its squared length, so the token itself scores "
                             "exactly 1.0), or the least-squares left inverse")
        bind(self.mode, session.roundtrip, "mode")
        # The article's first figure: the one-hot vector, and the embedding row it selects.
        self.onehot_plot = plot_widget(self.theme, "One-hot: 1 at the token's id, 0 elsewhere", "", "")
        self.onehot_curve = self.onehot_plot.plot(pen=pg.mkPen(self.theme.accent, width=2))
        self.row_plot = plot_widget(self.theme, "W_E[id]: the embedding row it selects", "", "")
        self.row_curve = self.row_plot.plot(pen=pg.mkPen(self.theme.second, width=1), fillLevel=0,
                                            brush=self.theme.second_fill)
        for p in (self.onehot_plot, self.row_plot):
            p.setMinimumHeight(70)
        self.onehot_plot.setYRange(0, 1.1, padding=0)
        self.onehot_plot.getPlotItem().getAxis("left").setTicks([[(0, "0"), (1, "1")]])
        self.plot = plot_widget(self.theme, "Round-trip score for every token id", "score", "token id")
        self.curve = self.plot.plot(pen=None, symbol="o", symbolSize=2, symbolPen=None, symbolBrush=self.theme.scatter)
        self.peak_items: list = []
        self.fractions = QLabel("Round trips that return their own token: computing in the background…")
        self.fractions.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Token"))
        row.addWidget(self.token, 1)
        row.addWidget(self.mode)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "One-hot → embed → unembed. Cramming the vocabulary into a few hundred dimensions makes the way back "
            "noisy: the highest peaks besides the token itself are usually other forms of the same word."))
        lay.addLayout(row)
        # The article's order, left to right: one-hot, the row it selects, then the way back.
        figures = QVBoxLayout()
        figures.addWidget(self.onehot_plot, 1)
        figures.addWidget(self.row_plot, 1)
        plots = QHBoxLayout()
        plots.addLayout(figures, 1)
        plots.addWidget(self.plot, 2)
        lay.addLayout(plots, 1)
        lay.addWidget(self.fractions)
        session.roundtrip.scores_changed.connect(lambda _s: self.refresh(), owner=self)
        session.roundtrip.fractions_changed.connect(lambda _f: self._on_fractions(), owner=self)
        session.roundtrip.token_changed.connect(self._show_token)
        session.roundtrip.row_changed.connect(lambda _r: self._show_selection(), owner=self)
        vb = self.plot.getPlotItem().getViewBox()
        vb.sigResized.connect(self._place_labels)
        vb.sigRangeChanged.connect(self._place_labels)

    def _show_token(self, token: int) -> None:
        vocab = self.s.vocab
        if vocab is not None and 0 <= token < len(vocab.texts) and not self.token.hasFocus():
            self.token.setText(visible(vocab.texts[token], 60))
        self.peaks: list[int] = []

    def _choose(self) -> None:
        self.controller.choose_roundtrip_token(self.token.text())

    def _show_selection(self) -> None:
        """One-hot -> embedding: a single 1 among the vocabulary's ids, and the row of
        W_E it picks out (the multiplication by a one-hot vector is only a lookup)."""
        row, vocab, token = self.s.roundtrip.row, self.s.vocab, self.s.roundtrip.token
        if row is None or vocab is None or not 0 <= token < len(vocab.texts):
            self.onehot_curve.setData([], [])
            self.row_curve.setData([], [])
            return
        n = len(vocab.texts)
        self.onehot_curve.setData([0, token, token, token, n - 1], [0, 0, 1, 0, 0])
        self.onehot_plot.setTitle(f"One-hot: 1 at id {token:,} ({token_label(vocab, token)}) of {n:,}",
                                  color=self.theme.title, size="9pt")
        self.row_curve.setData(np.arange(len(row)), row)
        self.row_plot.setTitle(f"W_E[{token:,}]: its embedding row (d = {len(row)})", color=self.theme.title, size="9pt")

    def sync(self) -> None:
        """Everything from the session as it is now (a dock made after the model loaded)."""
        self._show_token(self.s.roundtrip.token)
        self._on_fractions()
        self.refresh()

    def refresh(self) -> None:
        self._show_selection()
        for it in self.peak_items:
            self.plot.removeItem(it)
        self.peak_items, self.peaks = [], []
        scores, vocab = self.s.roundtrip.scores, self.s.vocab
        if scores is None or vocab is None:
            self.curve.setData([], [])
            return
        self.curve.setData(np.arange(len(scores)), scores)
        top = top_peaks(scores, 6)
        self.peaks = [int(i) for i in top]
        for i in top:
            color = self.theme.accent if int(i) == self.s.roundtrip.token else self.theme.text
            t = pg.TextItem(token_label(vocab, i), color=color)
            t.setPos(float(i), float(scores[i]))
            self.plot.addItem(t)
            self.peak_items.append(t)
        self.plot.getPlotItem().getViewBox().autoRange()
        self._place_labels()
        self.s.highlight = self.s.roundtrip.token

    # Where a label may sit around its peak, as TextItem anchors: above or below, right or left.
    _ANCHORS = ((0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0))

    def _place_labels(self, *_) -> None:
        """Put each peak's label (highest first) on the first side where it stays inside
        the plot and overlaps no label already placed; one with no such side is hidden.
        Neighbouring peaks of similar height otherwise printed their words over each
        other, and the highest one's ran off the top."""
        vb = self.plot.getPlotItem().getViewBox()
        area = vb.sceneBoundingRect()
        placed: list[QRectF] = []
        for t in self.peak_items:
            anchor_pt = vb.mapViewToScene(t.pos())
            size = t.textItem.boundingRect().size()
            t.setVisible(False)
            for ax, ay in self._ANCHORS:
                box = QRectF(anchor_pt.x() - ax * size.width(), anchor_pt.y() - ay * size.height(), size.width(), size.height())
                if area.contains(box) and not any(box.intersects(b) for b in placed):
                    t.setAnchor((ax, ay))
                    t.setVisible(True)
                    placed.append(box)
                    break

    def figure(self):
        """One-hot over the row it selects, beside the way back (three in a row leave
        each too narrow for slide-sized text)."""
        from spherescope.render.plots import composite

        onehot, row, back = (p.getPlotItem() for p in (self.onehot_plot, self.row_plot, self.plot))
        view = composite(self.theme.background, [[onehot, back], [row, None]], widths=[1, 1])
        view.ci.removeItem(back)
        view.ci.addItem(back, row=1, col=1, rowspan=2)
        return view

    def _on_fractions(self) -> None:
        f = self.s.roundtrip.fractions
        parts = []
        for mode, name in (("transpose", "by transpose"), ("normalised", "by normalised transpose"),
                           ("pinv", "by pseudo-inverse")):
            parts.append(f"{100 * f[mode]:.1f}% {name}" if mode in f else f"{name}: computing…")
        self.fractions.setText("Tokens whose round trip returns themselves: " + "; ".join(parts))
