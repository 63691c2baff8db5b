"""What moved it: each block's attention and MLP contribution to the logit difference
between a target and a contrast (direct logit attribution), layer by layer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from spherescope.core.text import quoted
from spherescope.render.styles import PlotTheme
from spherescope.state.session import Session
from spherescope.widgets.lessons.common import LazyRefresh, LessonDock, THEME, caption, plot_widget
from spherescope.widgets.bind import bind

BAR = 0.38  # each bar's width: attention left of the layer, MLP right


class AttributionDock(LazyRefresh, LessonDock):
    head_requested = Signal(int, int)  # (block, head): a top head was clicked; the window shows it in Heads

    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        th = self.theme
        self.plot = plot_widget(th, "Direct logit attribution per block", "Δ logit", "layer (block)")
        self.plot.setObjectName("attributionPlot")
        self.attn_bars = pg.BarGraphItem(x=[], height=[], width=BAR, brush=th.second, pen=None)
        self.mlp_bars = pg.BarGraphItem(x=[], height=[], width=BAR, brush=th.accent, pen=None)
        self.embed_bar = pg.BarGraphItem(x=[], height=[], width=BAR, brush=th.muted, pen=None)
        for item in (self.embed_bar, self.attn_bars, self.mlp_bars):
            self.plot.addItem(item)
        self.zero = pg.InfiniteLine(0, angle=0, pen=pg.mkPen(th.axis, width=1))
        self.cursor = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(th.cursor, width=1, style=Qt.PenStyle.DotLine))
        self.plot.addItem(self.zero)
        self.plot.addItem(self.cursor)
        legend = self.plot.addLegend(offset=(10, 5), labelTextColor=th.text, labelTextSize="8pt", colCount=3)
        legend.addItem(self.attn_bars, "attention")
        legend.addItem(self.mlp_bars, "MLP")
        legend.addItem(self.embed_bar, "embedding (at 0)")
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.pair = QLabel("")
        self.pair.setObjectName("attributionPair")
        self.contrast = QCheckBox("Against the contrast")
        bind(self.contrast, session, "use_contrast")
        self.pair_button = QPushButton("Prediction vs contrast")
        self.pair_button.clicked.connect(self._use_contrast_pair)
        self.on_sphere = QCheckBox("Writes on the sphere")
        self.on_sphere.setToolTip("Draw each block's attention and MLP writes as arcs on the sphere")
        bind(self.on_sphere, session, "show_sublayers")
        self.readout = QLabel("")
        self.readout.setObjectName("attributionReadout")
        self.readout.setWordWrap(True)
        self.readout.setTextFormat(Qt.TextFormat.RichText)  # its top heads are links to the Heads view
        self.readout.linkActivated.connect(self._on_link)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setObjectName("captionLabel")
        row = QHBoxLayout()
        row.addWidget(self.pair, 1)
        row.addWidget(self.contrast)
        row.addWidget(self.pair_button)
        row.addWidget(self.on_sphere)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Each block adds an attention write and an MLP write to the residual. A write's dot product with the "
            "target's unembedding direction (minus the contrast's), divided by the final norm's scale, is what it "
            "added to the logit difference. Click a bar to go to that layer."))
        lay.addLayout(row)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.readout)
        lay.addWidget(self.note)
        for sig in (session.attribution_changed, session.plane_tokens_changed, session.vocab_changed):
            sig.connect(self.request_refresh)
        session.layer_changed.connect(self.request_frame_refresh)

    def _use_contrast_pair(self) -> None:
        pair = self.s.contrast_pair()
        if pair is None:
            if self.controller is not None:
                self.controller.notify("Run a prompt first: attribution compares its prediction with a contrast.")
            return
        self.s.plane_tokens = pair

    def _on_click(self, ev) -> None:
        at = self.s.attribution
        vb = self.plot.getPlotItem().getViewBox()
        if at is None or not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        layer = int(round(vb.mapSceneToView(ev.scenePos()).x()))
        if 0 <= layer <= len(at.attn):
            self.s.layer = layer

    def refresh(self) -> None:
        at, vocab, s = self.s.attribution, self.s.vocab, self.s
        names = [quoted(vocab.texts[int(i)]) for i in s.plane_tokens[:2]] if vocab is not None else []
        if names:
            against = f" − {names[1]}" if s.use_contrast and len(names) > 1 else ""
            self.pair.setText(f"Target: logit({names[0]}){' − logit(' + names[1] + ')' if against else ''}")
        else:
            self.pair.setText("Target: choose tokens in the plane, or run a prompt")
        if at is None:
            for bars in (self.attn_bars, self.mlp_bars, self.embed_bar):
                bars.setOpts(x=[], height=[])
            self.readout.setText("Run a prompt: its attribution is computed when this view is open."
                                 if s.trace is None else "Computing each block's writes…")
            self.plot.set_empty("Run a prompt to see what each block wrote toward the target."
                                if s.trace is None else "Computing each block's writes…")
            self.note.setText("")
            return
        self.plot.set_empty(None)
        n = len(at.attn)
        x = np.arange(1, n + 1)
        self.attn_bars.setOpts(x=x - BAR / 2, height=at.attn, width=BAR)
        self.mlp_bars.setOpts(x=x + BAR / 2, height=at.mlp, width=BAR)
        self.embed_bar.setOpts(x=[0], height=[at.embed], width=BAR * 2)
        self.cursor.setValue(s.layer)
        what = f"logit({names[0]}) − logit({names[1]})" if at.contrast is not None and len(names) > 1 else \
            f"logit({names[0] if names else at.target})"
        self.plot.setTitle(f"What moved {what}: {at.logit_diff:+.2f} in all", color=self.theme.title, size="9pt")
        self.readout.setText(self._layer_text(at, s.layer))
        self.note.setText(
            f"{what} = embedding {at.embed:+.2f} + attention {float(at.attn.sum()):+.2f} + MLP {float(at.mlp.sum()):+.2f}"
            f"{f' + bias {at.bias:+.2f}' if abs(at.bias) > 5e-3 else ''}"
            f"{f' + steering vector {at.steer:+.2f}' if at.steer is not None else ''} = {at.total:+.2f} (before any soft-capping). "
            f"Exact at the last layer's norm scale (s = {at.scale:.1f}); reading a middle block's term as its effect "
            "linearises the norm at that layer, an approximation.")

    def _on_link(self, href: str) -> None:
        if href.startswith("head:"):
            layer, head = (int(x) for x in href[5:].split("."))
            self.head_requested.emit(layer, head)

    def _layer_text(self, at, layer: int) -> str:
        if layer == 0:
            return f"Layer 0 (the embedding): {at.embed:+.2f}."
        if not 1 <= layer <= len(at.attn):
            return ""
        i = layer - 1
        text = (f"Block {layer}: attention {float(at.attn[i]):+.2f} (|write| = {float(at.attn_norm[i]):.1f}), "
                f"MLP {float(at.mlp[i]):+.2f} (|write| = {float(at.mlp_norm[i]):.1f}).")
        heads = at.top_heads(layer, 4)
        if heads:
            link = self.theme.accent
            text += " Top heads (click one for what it reads and writes): " + ", ".join(
                f'<a href="head:{layer}.{h}" style="color: {link}">H{h} {v:+.2f}</a>' for h, v in heads) + "."
        elif at.heads is None:
            text += " (Heads are not split for this architecture: its attention output is normalised before it is added.)"
        return text

    def figure(self):
        """The plot alone, for a picture (the dock is a throwaway copy when exporting)."""
        self.plot.setParent(None)
        return self.plot
