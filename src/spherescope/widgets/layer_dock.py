"""Layer dock: the layer slider with step and play controls, and the current layer's readouts."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QSpinBox, QToolButton, QVBoxLayout, QWidget,
)

from spherescope.core.text import quoted
from spherescope.state.session import Session
from spherescope.widgets.topk_bars import TopKBars
from spherescope.widgets.bind import bind


class _Head(QLabel):
    """A column heading that never widens the dock: its text is cut to the column's width."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._full = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_text(self, text: str, tip: str = "") -> None:
        self._full = text
        self.setToolTip(tip)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(60, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(20, super().minimumSizeHint().height())

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit()

    def _fit(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 20)))


class LayerDock(QWidget):
    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("layerSlider")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(5)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.valueChanged.connect(self._on_slider)
        self.layer_label = QLabel("Layer –")
        self.layer_label.setObjectName("layerLabel")
        self.layer_label.setMinimumWidth(90)

        self.back = QToolButton(text="◀")
        self.back.setToolTip("Previous layer (Left)")
        self.back.clicked.connect(lambda: self.step(-1))
        self.forward = QToolButton(text="▶")
        self.forward.setToolTip("Next layer (Right)")
        self.forward.clicked.connect(lambda: self.step(1))
        self.play = QToolButton(text="Play")
        self.play.setObjectName("playButton")
        self.play.setCheckable(True)
        self.play.setToolTip("Play through the layers (Space)")
        self.play.toggled.connect(self._on_play)
        self.speed = QSpinBox()
        self.speed.setRange(1, 30)
        self.speed.setValue(6)
        self.speed.setSuffix(" layers/s")
        self.speed.valueChanged.connect(self._on_speed)
        self.after_attention = QCheckBox("Lens after attention")
        self.after_attention.setObjectName("lensAfterAttention")
        self.after_attention.setToolTip("Read the lens on the residual after this block's attention, before its MLP")
        bind(self.after_attention, session, "lens_after_attention")
        session.mid_lens_changed.connect(lambda *_: self.refresh(), owner=self)
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(True)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._on_speed(self.speed.value())
        self._build_readouts()
        self._lay_out()
        self._listen(session)

    def _build_readouts(self) -> None:
        self.readout = QLabel("Run a prompt to trace it.")
        self.readout.setObjectName("layerReadout")
        self.readout.setWordWrap(True)
        self.bars = TopKBars()
        self.bars.setObjectName("topkBars")
        self.bars.token_hovered.connect(self._highlight)
        self.bars.token_clicked.connect(self._set_contrast)
        self.bars.setToolTip("Click a token to make it the second token of the plane (the contrast)")
        # The second path's lens (a second prompt, or a patched run), beside the first.
        self.bars2 = TopKBars()
        self.bars2.setObjectName("compareBars")
        self.bars2.token_hovered.connect(self._highlight)
        self.head1 = _Head("First prompt")
        self.head2 = _Head("Second prompt")
        for head in (self.head1, self.head2):
            head.setObjectName("captionLabel")

    def _lay_out(self) -> None:
        note = QLabel("Logit lens: the final norm and unembedding applied to this layer's residual (float32).")
        note.setWordWrap(True)
        note.setObjectName("captionLabel")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        row = QHBoxLayout()
        row.addWidget(self.layer_label)
        row.addWidget(self.slider, 1)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        for w in (self.back, self.play, self.forward):
            row2.addWidget(w)
        row2.addStretch(1)
        row2.addWidget(self.speed)
        row2.addWidget(self.loop)
        lay.addLayout(row2)
        lay.addWidget(self.readout)
        lay.addWidget(self.after_attention)
        heads = QHBoxLayout()
        heads.addWidget(self.head1, 1)
        heads.addWidget(self.head2, 1)
        lay.addLayout(heads)
        columns = QHBoxLayout()
        columns.addWidget(self.bars, 1)
        columns.addWidget(self.bars2, 1)
        lay.addLayout(columns, 1)
        lay.addWidget(note)
        self._show_second(False)

    def _listen(self, session) -> None:
        session.layer_changed.connect(self._on_layer)
        session.frame_added.connect(self._on_frames)
        session.trace_started.connect(self._on_frames)
        session.trace_finished.connect(self._on_frames)
        session.lens_changed.connect(self.refresh)
        session.position_changed.connect(lambda _p: self.refresh(), owner=self)
        session.basis_changed.connect(self.refresh)
        session.comparison.trace_changed.connect(lambda *_: self.refresh(), owner=self)

    def _show_second(self, on: bool) -> None:
        # Two narrower columns in the dock's width: the dock (and the 3-D view beside it)
        # keeps its size when a second prompt comes and goes. (Narrowed before they show:
        # a dock area that grew once for a wide hint does not give the room back.)
        for bars in (self.bars, self.bars2):
            bars.setMinimumWidth(110 if on else 0)
            bars.hint_width = 130 if on else 260
            bars.updateGeometry()
        for w in (self.head1, self.head2, self.bars2):
            w.setVisible(on)

    def _highlight(self, token: int) -> None:
        self.session.highlight = token

    def _set_contrast(self, token: int) -> None:
        """A clicked row becomes the plane's second token; the first stays (or is the
        top prediction when none was chosen)."""
        s = self.session
        s.highlight = token
        first = int(s.plane_tokens[0]) if s.plane_tokens else None
        if first is None or first == token:
            lens = s.current_lens()
            first = int(lens.ids[0]) if lens is not None else None
        if first is not None and first != token:
            s.plane_tokens = (first, int(token))

    # ---- range and selection ----
    def _on_frames(self, *_):
        # (While a run streams in, the controller moves the layer to the newest one.)
        n = self.session.available_layers()
        total = self.session.num_layers
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setValue(self.session.layer)
        self.slider.blockSignals(False)
        self.slider.setTickInterval(5 if (total or 0) > 12 else 1)
        self.refresh()

    def _on_slider(self, value: int) -> None:
        self.session.layer = value

    def _on_layer(self, layer: int) -> None:
        if self.slider.value() != layer:
            self.slider.blockSignals(True)
            self.slider.setValue(layer)
            self.slider.blockSignals(False)
        self.refresh()

    def step(self, delta: int) -> None:
        n = self.session.available_layers()
        if n:
            self.session.layer = int(np.clip(self.session.layer + delta, 0, n - 1))

    # ---- playback ----
    def toggle_play(self) -> None:
        self.play.setChecked(not self.play.isChecked())

    def _on_play(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        if on:
            if self.session.layer >= self.session.available_layers() - 1:
                self.session.layer = 0
            self.timer.start()
        else:
            self.timer.stop()

    def _on_speed(self, v: int) -> None:
        self.timer.setInterval(int(1000 / max(1, v)))

    def _tick(self) -> None:
        n = self.session.available_layers()
        if n == 0:
            self.play.setChecked(False)
            return
        nxt = self.session.layer + 1
        if nxt >= n:
            if self.loop.isChecked():
                nxt = 0
            else:
                self.play.setChecked(False)
                return
        self.session.layer = nxt

    # ---- readouts ----
    def refresh(self) -> None:
        s = self.session
        n = s.available_layers()
        total = s.num_layers
        self.layer_label.setText(f"Layer {s.layer} / {total}" if n else "Layer –")
        path = s.path()
        self._refresh_second()
        if path is None or s.layer >= len(path):
            self.readout.setText("Run a prompt to trace it.")
            self.bars.set_rows([])
            return
        norm = float(np.linalg.norm(path[s.layer]))
        proj = s.projected_path()
        kept = f" · the 3-D view keeps {100 * float(proj.kept[s.layer]):.0f}% of its length" if proj is not None else ""
        tok = s.tokens[s.position].text if 0 <= s.position < len(s.tokens) else ""
        text = f"Position {s.position} ({quoted(tok)}) · |h| = {norm:,.1f}{kept}"
        if s.trace is not None and s.layer == total and s.position == s.trace.position:
            text += f"\nAfter the final norm |h| = {s.trace.final_normed_norm:,.1f}: the head sees the direction, rescaled."
        lens = s.current_lens()
        if s.lens_after_attention:
            mid = s.mid_lens
            if mid is None or s.layer == 0:
                lens = None
                text += ("\nLayer 0 is the embedding: there is no attention before it." if s.layer == 0 else
                         "\nReading the lens after attention…")
            else:
                lens = mid[s.layer - 1]
                text += f"\nLens after block {s.layer}'s attention, before its MLP."
        self.readout.setText(text)
        vocab = s.vocab
        if lens is None or vocab is None:
            self.bars.set_rows([])
            return
        self.bars.set_rows([(int(i), vocab.texts[int(i)], float(p)) for i, p in zip(lens.ids, lens.probs)])

    def _refresh_second(self) -> None:
        s, second = self.session, self.session.comparison.trace
        self._show_second(second is not None)
        if second is None or s.vocab is None:
            self.bars2.set_rows([])
            return
        tok = second.tokens[second.position].text
        what = "Second prompt" if s.comparison.label in ("", "second prompt") else "Patched run"
        self.head2.set_text(f"{what}, at {quoted(tok)}", f"The second path: {s.comparison.label}")
        first = s.tokens[s.position].text if 0 <= s.position < len(s.tokens) else ""
        self.head1.set_text(f"First prompt, at {quoted(first)}", "The prompt traced in the Prompt panel")
        layer = min(s.layer, len(second.lens) - 1)
        lens = second.lens[layer]
        self.bars2.set_rows([(int(i), s.vocab.texts[int(i)], float(p)) for i, p in zip(lens.ids, lens.probs)])
