"""The article's lessons as live docks, driven by the same session as the sphere.

Each dock reads precomputed numbers (the worker fills them when a trace finishes or the
followed position changes), so a layer change only redraws. Hovering or clicking a
token in any of them highlights it on the sphere (session.highlight_requested).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QSlider, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from spherescope.core.lessons import ALPHAS, TEMPERATURES, probs_at_alpha
from spherescope.core.text import visible
from spherescope.state.session import Session
from spherescope.widgets.topk_bars import TopKBars

pg.setConfigOptions(antialias=True)
PLOT_BG = "#10141c"


def _caption(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setObjectName("captionLabel")
    return lab


def _plot(title: str, left: str, bottom: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background=PLOT_BG)
    w.setTitle(title, color="#c9d3ea", size="9pt")
    w.setLabel("left", left, color="#9fb0d6")
    w.setLabel("bottom", bottom, color="#9fb0d6")
    w.showGrid(x=True, y=True, alpha=0.15)
    # pyqtgraph draws the grid with the axes, so any change inside the plot (the layer
    # cursor moving) replayed both axes' whole pictures: ~12 ms each under software
    # rendering, and most of a layer step. Cached as pixmaps, they are redrawn only
    # when the axes themselves change.
    for axis in ("left", "bottom"):
        w.getPlotItem().getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    w.setMinimumHeight(140)
    return w


class _LazyRefresh:
    """Docks hidden behind a tab skip their redraws and catch up when shown, so a layer
    step costs only what is on screen."""

    _dirty = True

    def request_refresh(self, *_):
        # visibleRegion, not isVisible: a dock behind another tab can still count as visible.
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._dirty = False
            self.refresh()
        else:
            self._dirty = True

    def catch_up(self, visible: bool = True) -> None:
        """Called when the dock comes to the front (QDockWidget.visibilityChanged)."""
        if visible and self._dirty:
            self._dirty = False
            self.refresh()

    def showEvent(self, ev):
        super().showEvent(ev)
        self.catch_up()


def _tok(vocab, i: int) -> str:
    return visible(vocab.texts[int(i)], 20) if vocab is not None else str(i)


class ClosestDock(_LazyRefresh, QWidget):
    """Closest by which measure? dot product (the logit) vs cosine vs Euclidean distance."""

    HEADERS = ("by dot product = logit", "|x|·|u|·cos θ", "by cosine", "by Euclidean distance")

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.table = QTableWidget(10, 4)
        self.table.setObjectName("closestTable")
        self.table.setHorizontalHeaderLabels(self.HEADERS)
        self.table.verticalHeader().setVisible(False)
        from PySide6.QtWidgets import QHeaderView

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
        lay.addWidget(_caption(
            "The model ranks tokens by dot product (the logit), not by distance. Compare the lists: "
            "● marks a token that is also in the dot-product list; the Euclidean 'closest' tokens are often not what the model predicts."))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.summary)
        self._ids: dict[tuple[int, int], int] = {}
        for sig in (session.layer_changed, session.position_changed, session.lessons_changed):
            sig.connect(self.request_refresh)

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
        for r in range(len(c.by_dot)):
            i = int(c.by_dot[r])
            self._set(r, 0, i, f"{_tok(vocab, i)}   {c.logits[r]:.2f}", True)
            b = f" + {c.bias[r]:.2f}" if abs(float(c.bias[r])) > 1e-9 else ""
            self._set(r, 1, i, f"{c.x_norm:.1f} · {c.u_norm[r]:.2f} · {c.cos_dot[r]:.3f}{b}", False)
            j = int(c.by_cos[r])
            self._set(r, 2, j, f"{'● ' if j in dot_set else ''}{_tok(vocab, j)}   {c.cos[r]:.3f}", j in dot_set)
            k = int(c.by_euclid[r])
            self._set(r, 3, k, f"{'● ' if k in dot_set else ''}{_tok(vocab, k)}   {c.dist[r]:.2f}", k in dot_set)

    def _set(self, r: int, col: int, token: int, text: str, mark: bool) -> None:
        # Reuse the cell's item: a layer step then only changes text and colour.
        item = self.table.item(r, col)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(r, col, item)
        item.setText(text)
        item.setForeground(QColor("#ffb347") if mark and col else self.table.palette().color(self.table.foregroundRole()))
        self._ids[(r, col)] = token

    def column_ids(self, col: int) -> list[int]:
        return [self._ids[(r, col)] for r in range(self.table.rowCount()) if (r, col) in self._ids]

    def _hover(self, r: int, c: int) -> None:
        if (r, c) in self._ids:
            self.s.highlight_requested.emit(self._ids[(r, c)])


class ConfidenceDock(_LazyRefresh, QWidget):
    """Length is confidence: scale the vector the unembedding sees by α; and temperature."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("alphaSlider")
        self.slider.setRange(0, 400)
        self.slider.setValue(100)
        self.slider.valueChanged.connect(lambda v: setattr(session, "alpha", v / 100))
        self.alpha_label = QLabel("α = 1.00")
        self.alpha_label.setMinimumWidth(70)
        self.bars = TopKBars()
        self.bars.token_hovered.connect(session.highlight_requested.emit)
        self.alpha_plot = _plot("Top token vs α", "p(top), entropy ÷ ln V", "α")
        self.p_curve = self.alpha_plot.plot(pen=pg.mkPen("#ffb347", width=2), name="p(top)")
        self.h_curve = self.alpha_plot.plot(pen=pg.mkPen("#6eaaff", width=2, style=Qt.PenStyle.DashLine), name="entropy")
        self.alpha_line = pg.InfiniteLine(1.0, angle=90, pen=pg.mkPen("#ffffff", width=1))
        self.alpha_plot.addItem(self.alpha_line)
        legend = self.alpha_plot.addLegend(offset=(-10, 10))
        legend.addItem(self.p_curve, "p(top)")
        legend.addItem(self.h_curve, "entropy ÷ ln V")
        self.t_plot = _plot("Top token vs temperature", "p(top)", "T (0 = argmax)")
        self.t_curve = self.t_plot.plot(pen=pg.mkPen("#c084fc", width=2))
        # Both plots show fractions over fixed axes: fixed ranges keep a layer step from
        # rescaling (and so redrawing) the axes, and keep curves comparable across layers.
        for plot, xmax in ((self.alpha_plot, float(ALPHAS[-1])), (self.t_plot, float(TEMPERATURES[-1]))):
            plot.setXRange(0.0, xmax, padding=0.02)
            plot.setYRange(0.0, 1.0, padding=0.04)
            plot.getPlotItem().getViewBox().disableAutoRange()
        row = QHBoxLayout()
        row.addWidget(QLabel("Scale"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.alpha_label)
        plots = QHBoxLayout()
        plots.addWidget(self.bars, 1)
        plots.addWidget(self.alpha_plot, 1)
        plots.addWidget(self.t_plot, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(_caption(
            "Direction picks the token, length sets the confidence: multiplying the vector by α multiplies every "
            "logit, so the top token's probability rises with α while the ranking stays. Temperature T divides them."))
        lay.addLayout(row)
        lay.addLayout(plots, 1)
        for sig in (session.layer_changed, session.position_changed, session.alpha_changed, session.lessons_changed):
            sig.connect(self.request_refresh)

    def refresh(self) -> None:
        a = self.s.alpha
        self.alpha_label.setText(f"α = {a:.2f}")
        if self.slider.value() != round(a * 100):
            self.slider.blockSignals(True)
            self.slider.setValue(round(a * 100))
            self.slider.blockSignals(False)
        self.alpha_line.setValue(a)
        les = self.s.current_lesson()
        vocab = self.s.vocab
        if les is None or vocab is None:
            self.bars.set_rows([])
            self.p_curve.setData([], [])
            self.h_curve.setData([], [])
            self.t_curve.setData([], [])
            return
        ids, probs = probs_at_alpha(les.logits, les.bias, a, 10)
        self.bars.set_rows([(int(i), vocab.texts[int(i)], float(p)) for i, p in zip(ids, probs)])
        self.p_curve.setData(ALPHAS, les.alpha_top_prob)
        self.h_curve.setData(ALPHAS, les.alpha_entropy / max(float(np.log(len(les.logits))), 1e-9))
        self.t_curve.setData(TEMPERATURES, les.temp_top_prob)


class NormsDock(_LazyRefresh, QWidget):
    """Residual norm across layers, one line per position."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.plot = _plot("Residual norm |h| by layer", "|h|", "layer")
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#ffffff", width=1))
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
        lay.addWidget(_caption(
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
            color = QColor("#ffb347") if followed else QColor(130, 160, 220, 90)
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


class TokenNormsDock(QWidget):
    """Token norms: histograms of embedding (and untied unembedding) row lengths, and outliers."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.plot = _plot("Token vector lengths", "tokens", "|row|")
        self.longest = QListWidget()
        self.shortest = QListWidget()
        for lw in (self.longest, self.shortest):
            lw.setMaximumWidth(200)
            lw.itemClicked.connect(lambda item: session.highlight_requested.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.center = QCheckBox("Centre the unembedding cloud on the sphere (softmax ignores the shared mean)")
        self.center.setChecked(session.center_cloud)
        self.center.toggled.connect(lambda v: setattr(session, "center_cloud", v))
        session.center_cloud_changed.connect(self.center.setChecked)
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
        lay.addWidget(_caption(
            "Most tokens have about the same length, so direction is what tells them apart; a tail of outliers "
            "(rare or unused tokens) is much longer or shorter. Click one to find it on the sphere."))
        lay.addLayout(row, 1)
        lay.addWidget(self.center)
        session.model_stats_changed.connect(lambda *_: self.refresh())
        session.vocab_changed.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        st, vocab = self.s.model_stats, self.s.vocab
        self.plot.clear()
        self.longest.clear()
        self.shortest.clear()
        if st is None:
            return
        h = st.embed_hist
        self.plot.plot(h.edges, h.counts, stepMode="center", fillLevel=0, brush=(110, 170, 255, 120),
                       pen=pg.mkPen("#6eaaff"), name="embedding")
        if st.unembed_hist is not None:
            u = st.unembed_hist
            self.plot.plot(u.edges, u.counts, stepMode="center", fillLevel=0, brush=(255, 170, 60, 90),
                           pen=pg.mkPen("#ffb347"), name="unembedding")
        self.plot.setTitle("Token vector lengths: embedding" + (" (blue) and unembedding (orange)" if st.unembed_hist is not None else " (tied: the same rows unembed)"),
                           color="#c9d3ea", size="9pt")
        for lw, ids in ((self.longest, h.longest), (self.shortest, h.shortest)):
            for i in ids:
                item = QListWidgetItem(f"{_tok(vocab, i)}  {h.lengths[int(i)]:.2f}")
                item.setData(Qt.ItemDataRole.UserRole, int(i))
                lw.addItem(item)


class RoundTripDock(QWidget):
    """Embed -> unembed round trip of one token, by transpose or pseudo-inverse.

    The whole-vocabulary counts (a V x V product per mode) start the first time this
    dock is shown (the main window sets session.roundtrip_wanted), not at every model
    load: they would otherwise compete with runs."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.token = QLineEdit()
        self.token.setObjectName("roundTripToken")
        self.token.setPlaceholderText("token, e.g. ␣NEXT")
        self.token.returnPressed.connect(self._choose)
        self.token.textEdited.connect(lambda t: self.token.setText(t.replace(" ", "␣")) if " " in t else None)
        self.mode = QComboBox()
        self.mode.addItem("Transpose (Wᴱᵀ)", "transpose")
        self.mode.addItem("Pseudo-inverse", "pinv")
        self.mode.currentIndexChanged.connect(lambda i: setattr(session, "roundtrip_mode", self.mode.itemData(i)))
        self.plot = _plot("Round-trip score for every token id", "score", "token id")
        self.curve = self.plot.plot(pen=None, symbol="o", symbolSize=2, symbolPen=None, symbolBrush=(110, 170, 255, 160))
        self.peak_items: list = []
        self.fractions = QLabel("Round trips that return their own token: computing in the background…")
        self.fractions.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Token"))
        row.addWidget(self.token, 1)
        row.addWidget(self.mode)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(_caption(
            "One-hot → embed → unembed. Cramming the vocabulary into a few hundred dimensions makes the way back "
            "noisy: the highest peaks besides the token itself are usually other forms of the same word."))
        lay.addLayout(row)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.fractions)
        session.roundtrip_changed.connect(self.refresh)
        session.fractions_changed.connect(self._on_fractions)
        session.roundtrip_token_changed.connect(self._show_token)
        vb = self.plot.getPlotItem().getViewBox()
        vb.sigResized.connect(self._place_labels)
        vb.sigRangeChanged.connect(self._place_labels)

    def _show_token(self, token: int) -> None:
        vocab = self.s.vocab
        if vocab is not None and 0 <= token < len(vocab.texts) and not self.token.hasFocus():
            self.token.setText(visible(vocab.texts[token], 60))
        self.peaks: list[int] = []

    def _choose(self) -> None:
        vocab = self.s.vocab
        text = self.token.text()
        if vocab is None:
            return
        key = text if text in vocab.lookup else visible(text, 60)
        if key not in vocab.lookup:
            self.s.message.emit(f"No token {text!r} in this model's vocabulary.", True)
            return
        self.s.roundtrip_token = vocab.lookup[key]

    def refresh(self) -> None:
        for it in self.peak_items:
            self.plot.removeItem(it)
        self.peak_items, self.peaks = [], []
        scores, vocab = self.s.roundtrip_scores, self.s.vocab
        if scores is None or vocab is None:
            self.curve.setData([], [])
            return
        self.curve.setData(np.arange(len(scores)), scores)
        top = np.argsort(-scores)[:6]
        self.peaks = [int(i) for i in top]
        for i in top:
            color = "#ffb347" if int(i) == self.s.roundtrip_token else "#e6ecfa"
            t = pg.TextItem(_tok(vocab, i), color=color)
            t.setPos(float(i), float(scores[i]))
            self.plot.addItem(t)
            self.peak_items.append(t)
        self.plot.getPlotItem().getViewBox().autoRange()
        self._place_labels()
        self.s.highlight_requested.emit(self.s.roundtrip_token)

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

    def _on_fractions(self) -> None:
        f = self.s.fractions
        parts = []
        for mode, name in (("transpose", "by transpose"), ("pinv", "by pseudo-inverse")):
            parts.append(f"{100 * f[mode]:.1f}% {name}" if mode in f else f"{name}: computing…")
        self.fractions.setText("Tokens whose round trip returns themselves: " + "; ".join(parts))


class TiedDock(QWidget):
    """Tied or untied input and output embeddings."""

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.s = session
        self.statement = QLabel("")
        self.statement.setWordWrap(True)
        self.statement.setObjectName("tiedStatement")
        self.plot = _plot("cos(W_E[t], W_U[t]) over the vocabulary", "tokens", "cosine")
        self.space = QComboBox()
        self.space.setObjectName("cloudSpace")
        self.space.addItem("Output space: unembedding rows (where logits are dot products)", "unembedding")
        self.space.addItem("Input space: embedding rows", "embedding")
        self.space.currentIndexChanged.connect(lambda i: setattr(session, "cloud_space", self.space.itemData(i)))
        session.cloud_space_changed.connect(lambda v: self.space.setCurrentIndex(self.space.findData(v)))
        space_row = QHBoxLayout()
        space_row.addWidget(QLabel("Tokens on the sphere"))
        space_row.addWidget(self.space, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(_caption(
            "GPT-2-era models use one matrix to embed and unembed; most newer ones learn two, because the next "
            "token is rarely the current one. When they are separate, input and output directions part ways."))
        lay.addWidget(self.statement)
        lay.addLayout(space_row)
        lay.addWidget(self.plot, 1)
        lay.addStretch(0)
        session.model_stats_changed.connect(lambda *_: self.refresh())
        session.vocab_changed.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        st, info = self.s.model_stats, self.s.model_info
        self.plot.clear()
        vocab = self.s.vocab
        self.space.setEnabled(vocab is not None and vocab.embed is not None)
        if not self.space.isEnabled() and self.s.cloud_space != "unembedding":
            self.s.cloud_space = "unembedding"
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
        counts, edges = np.histogram(st.tied_cos, bins=60, range=(-1, 1))
        self.plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=(192, 132, 252, 120), pen=pg.mkPen("#c084fc"))
        self.statement.setText(f"{info.name} learns separate input and output embeddings: median cos(W_E[t], W_U[t]) = "
                               f"{float(np.median(st.tied_cos)):.2f}. Choose which space the sphere's tokens come from; "
                               "the lens and the trajectory are the same either way.")
