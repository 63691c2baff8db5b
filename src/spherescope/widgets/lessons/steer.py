"""Steer: add α times a token direction to the residual after one block, and watch the
path, the lens and the prediction change while the slider moves."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout,
)

from spherescope.core.patching import NO_CURVE, SteerCurve, SteerSpec
from spherescope.core.text import quoted
from spherescope.render.styles import PlotTheme
from spherescope.state.session import Session
from spherescope.widgets.lessons.common import LessonDock, THEME, caption, plot_widget
from spherescope.widgets.lessons.steer_tokens import direction_ids, no_token, token_edits

ALPHA_RANGE = 300  # the slider runs from -ALPHA_RANGE to +ALPHA_RANGE


class SteerDock(LessonDock):
    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self.enabled = QCheckBox("Steer")
        self.enabled.setObjectName("steerOn")
        self.enabled.toggled.connect(lambda _v: self.apply())
        self.layer = QSpinBox()
        self.layer.setObjectName("steerLayer")
        self.layer.setRange(0, 0)
        self.layer.setToolTip("The direction is added to the residual after this block (0: to the embeddings)")
        self.layer.valueChanged.connect(lambda _v: self.apply())
        self.toward, self.away = token_edits("steerToward", "steerAway")
        for edit in (self.toward, self.away):
            edit.returnPressed.connect(self.apply)
        self.contrast_button = QPushButton("Toward the contrast")
        self.contrast_button.setToolTip("Toward the plane's second token and away from its first (' John', not ' Mary')")
        self.contrast_button.clicked.connect(self.toward_contrast)
        self.alpha = QSlider(Qt.Orientation.Horizontal)
        self.alpha.setObjectName("steerAlpha")
        self.alpha.setRange(-ALPHA_RANGE, ALPHA_RANGE)
        self.alpha.setValue(0)
        self.alpha.valueChanged.connect(lambda _v: self.apply())
        self.sweep_button = QPushButton("Sweep α")
        self.sweep_button.setObjectName("steerSweep")
        self.sweep_button.setToolTip("Run the prompt at 21 values of α out to 3 × |h| at this layer and draw the "
                                     "whole curve (the steering itself is not switched on)")
        self.sweep_button.clicked.connect(self.sweep)
        self.alpha_label = QLabel("α = 0")
        self.alpha_label.setMinimumWidth(70)
        self.where = QComboBox()
        self.where.addItem("at every position", "all")
        self.where.addItem("at the followed position", "followed")
        self.where.currentIndexChanged.connect(lambda _i: self.apply())
        self.readout = QLabel("")
        self.readout.setObjectName("steerReadout")
        self.readout.setWordWrap(True)
        self._build_plot()
        self._lay_out()
        self._listen(session)

    def _build_plot(self) -> None:
        # What each α did, as the runs come back: the model's own logit(toward) −
        # logit(away) at the followed position. Points gather while the slider moves and
        # start afresh when anything but α changes.
        th = self.theme
        self.plot = plot_widget(th, "What α does to the prediction", "Δ logit", "α")
        self.plot.setObjectName("steerPlot")
        self.curve = self.plot.plot(pen=pg.mkPen(th.accent, width=2), symbol="o", symbolSize=5,
                                    symbolBrush=th.accent, symbolPen=None)
        self.now = self.plot.plot(pen=None, symbol="o", symbolSize=11, symbolBrush=th.second, symbolPen=None)
        self.swept = self.plot.plot(pen=pg.mkPen(th.accent, width=1.5, style=Qt.PenStyle.DashLine))
        self.plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(th.axis, width=1)))
        self.plot.addItem(pg.InfiniteLine(0, angle=90, pen=pg.mkPen(th.axis, width=1)))
        self.points: dict[float, float] = {}
        self.predictions: dict[float, tuple[str, float]] = {}  # α -> the model's next token and its probability
        self._key = None
        self._swept_at = None  # (prompt, followed position) of the last Sweep α asked for
        self._plain = None  # (prompt, position, logits) of the last run without steering

    def _lay_out(self) -> None:
        form = QFormLayout()
        tokens = QHBoxLayout()
        tokens.addWidget(self.toward, 1)
        tokens.addWidget(self.away, 1)
        tokens.addWidget(self.contrast_button)
        form.addRow("Direction", tokens)
        after = QHBoxLayout()
        after.addWidget(self.layer)
        after.addWidget(self.where)
        after.addStretch(1)
        form.addRow("After block", after)
        strength = QHBoxLayout()
        strength.addWidget(self.alpha, 1)
        strength.addWidget(self.alpha_label)
        strength.addWidget(self.sweep_button)
        form.addRow("Strength", strength)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Adds α times the unit vector of a token's effective unembedding direction (minus another's) to the "
            "residual after one block. Each change re-runs the prompt; the path, the lens and the prediction follow "
            "while the slider moves. The residual's own length there gives α its scale (|h| in the Layer dock)."))
        controls = QVBoxLayout()
        controls.addWidget(self.enabled)
        controls.addLayout(form)
        controls.addWidget(self.readout)
        controls.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(controls, 3)
        body.addWidget(self.plot, 2)
        lay.addLayout(body, 1)

    def _listen(self, session) -> None:
        session.model_info_changed.connect(self._on_model)
        session.trace_finished.connect(self._show)
        session.steering.spec_changed.connect(lambda _s: self._show_pending(), owner=self)
        session.steering.spec_changed.connect(self._sync)
        session.steering.sweep_changed.connect(lambda _c: self._draw_sweep(), owner=self)
        session.position_changed.connect(lambda _p: self._draw_sweep(), owner=self)

    def sync(self) -> None:
        """Everything from the session as it is now (a dock made after the model loaded)."""
        if self.s.model_info is not None:
            self._on_model(self.s.model_info)
        self._sync(self.s.steering.spec)
        self._show()

    def _on_model(self, info) -> None:
        n = info.num_layers if info is not None else 0
        self.layer.blockSignals(True)
        self.layer.setRange(0, n)
        self.layer.setValue(n // 2)
        self.layer.blockSignals(False)

    def toward_contrast(self) -> None:
        s = self.s
        if s.vocab is None or len(s.plane_tokens) < 2:
            if self.controller is not None:
                self.controller.notify("Run a prompt first: steering toward the contrast uses the plane's two tokens.")
            return
        a, b = (s.vocab.texts[int(i)] for i in s.plane_tokens[:2])
        self.toward.setText(b.replace(" ", "␣"))
        self.away.setText(a.replace(" ", "␣"))
        self.apply()

    def spec(self, quiet: bool = False, even_off: bool = False) -> SteerSpec | None:
        """What the controls ask for, or None when steering is off (unless `even_off`)
        or incomplete."""
        vocab = self.s.vocab
        if not (self.enabled.isChecked() or even_off) or vocab is None or not self.toward.text().strip():
            return None  # off, or not chosen yet (the readout says what is missing)
        toward, away, bad = direction_ids(vocab, self.toward.text(), self.away.text())
        if bad is not None:
            if self.controller is not None and not quiet:
                self.controller.notify(no_token(bad))
            return None
        position = None
        if self.where.currentData() == "followed" and self.s.tokens:
            position = self.s.position if self.s.position >= 0 else len(self.s.tokens) - 1
        return SteerSpec(self.layer.value(), toward, away, float(self.alpha.value()), position)

    def sweep(self) -> None:
        """Ask for the whole α curve of the direction chosen (steering on or not)."""
        if not self.toward.text().strip() and self.s.contrast_pair() is not None:
            self.toward_contrast()  # the obvious direction: the plane's second token, away from its first
        spec = self.spec(even_off=True)
        if self.controller is None:
            return
        if spec is None and not self.toward.text().strip():
            self.controller.notify("Choose a token to steer toward (or press Toward the contrast), then Sweep α.")
            return
        if spec is not None:
            self.readout.setText(self.readout.text().split("\nSweeping")[0] + "\nSweeping α…")
            self._swept_at = (self.s.prompt, self.s.position)
            self.controller.request_steer_sweep(spec)

    def _sweep_matches(self, curve) -> bool:
        spec, vocab = self.spec(quiet=True, even_off=True), self.s.vocab
        if curve is None or spec is None or vocab is None or self._swept_at != (self.s.prompt, self.s.position):
            return False  # another direction, prompt or followed position than the one swept
        away = None if spec.away is None else vocab.texts[spec.away]
        return (curve.toward, curve.away, curve.layer, curve.position) == (vocab.texts[spec.toward], away, spec.layer,
                                                                          spec.position)

    def _draw_sweep(self) -> None:
        curve = self.s.steering.sweep
        if not self._sweep_matches(curve):
            self.swept.setData([], [])
        else:
            self.swept.setData(np.array(curve.alphas), np.array(curve.diffs))
            self.plot.setLabel("left", curve.value_label(), color=self.theme.axis)
            self.readout.setText(self.readout.text().split("\nSweeping")[0])
        self._say_why_empty()

    def apply(self) -> None:
        self.alpha_label.setText(f"α = {self.alpha.value():+d}")
        if self.controller is None:
            return
        spec = self.spec()
        if spec != self.s.steering.spec:
            self.controller.set_steer(spec)

    def _show(self) -> None:
        self._say_why_empty()
        s, tr = self.s, self.s.trace
        if tr is None:
            self.readout.setText("Run a prompt to steer it.")
            return
        nxt = f"next token {quoted(tr.next_token.text)} ({100 * tr.next_prob:.0f}%)"
        st = s.steering.traced
        if st is None:
            self._plain = (s.prompt, tr.position, tr.model_logits)
            missing = " Choose a token to steer toward (or press Toward the contrast)." if (
                self.enabled.isChecked() and not self.toward.text().strip()) else ""
            self.readout.setText(f"Not steering: {nxt}.{missing}")
            self._gather(None)
            return
        vocab = s.vocab
        what = quoted(vocab.texts[st.toward]) + (f" − {quoted(vocab.texts[st.away])}" if st.away is not None else "")
        where = "every position" if st.position is None else f"position {st.position}"
        text = f"Steering toward {what} after block {st.layer} at {where}, α = {st.alpha:+.0f}: {nxt}."
        if st.away is not None:
            diff = float(tr.model_logits[st.toward] - tr.model_logits[st.away])
            text += f"\n{quoted(vocab.texts[st.toward])} {'beats' if diff > 0 else 'trails'} " \
                    f"{quoted(vocab.texts[st.away])} by {abs(diff):.2f} in logit"
            plain = self._plain
            if plain is not None and plain[:2] == (s.prompt, tr.position):
                text += f" (unsteered: {float(plain[2][st.toward] - plain[2][st.away]):+.2f})"
            text += "."
        self.readout.setText(text)
        self._gather(st)

    def _sync(self, spec) -> None:
        """Controls follow a steer set elsewhere (a scene opened, a model loaded)."""
        if spec == self.spec(quiet=True) or self.s.vocab is None and spec is not None:
            return
        widgets = (self.enabled, self.layer, self.toward, self.away, self.alpha, self.where)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.enabled.setChecked(spec is not None)
            if spec is not None:
                texts = self.s.vocab.texts
                self.layer.setValue(spec.layer)
                self.toward.setText(texts[spec.toward].replace(" ", "␣") if 0 <= spec.toward < len(texts) else "")
                self.away.setText(texts[spec.away].replace(" ", "␣")
                                  if spec.away is not None and 0 <= spec.away < len(texts) else "")
                self.alpha.setValue(int(round(max(-ALPHA_RANGE, min(ALPHA_RANGE, spec.alpha)))))
                self.where.setCurrentIndex(0 if spec.position is None else 1)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self.alpha_label.setText(f"α = {self.alpha.value():+d}")

    def _show_pending(self) -> None:
        # The run for the new setting is on its way; the readout describes the path on screen.
        if self.s.steering.spec is None and self.s.steering.traced is None:
            self._show()

    def _gather(self, st) -> None:
        """Add the finished run's point to the α curve (the trace is the steered one)."""
        s, tr = self.s, self.s.trace
        if st is None or tr is None or s.vocab is None:
            return
        key = (s.prompt, st.layer, st.toward, st.away, st.position, tr.position)
        if key != self._key:
            self._key, self.points, self.predictions = key, {}, {}
            vocab = s.vocab
            label = f"logit({quoted(vocab.texts[st.toward])})" + (
                f" − logit({quoted(vocab.texts[st.away])})" if st.away is not None else "")
            self.plot.setLabel("left", label, color=self.theme.axis)
        logits = tr.model_logits
        value = float(logits[st.toward] - (logits[st.away] if st.away is not None else 0.0))
        self.points[float(st.alpha)] = value
        self.predictions[float(st.alpha)] = (tr.next_token.text, float(tr.next_prob))
        xs = np.array(sorted(self.points))
        self.curve.setData(xs, np.array([self.points[x] for x in xs]))
        self.now.setData([float(st.alpha)], [value])
        self._say_why_empty()

    def _say_why_empty(self) -> None:
        if self.points or self._sweep_matches(self.s.steering.sweep):
            self.plot.set_empty(None)
        elif self.s.trace is None:
            self.plot.set_empty("Run a prompt, then steer it: each α you apply adds a point to this curve.")
        else:
            self.plot.set_empty("Choose a token to steer toward and press Apply: each α you try adds a point "
                                "to this curve (render --view steer draws the whole sweep).")

    def figure(self):
        """The α curve alone, for a picture."""
        self.plot.setParent(None)
        return self.plot

    def dose_curve(self) -> SteerCurve | None:
        """The Sweep α curve for the direction chosen, else the runs made so far as a
        dose-response curve (None before the first)."""
        st, vocab = self.s.steering.traced, self.s.vocab
        if self._sweep_matches(self.s.steering.sweep):
            return self.s.steering.sweep
        if self._key is None or vocab is None:
            return None
        _prompt, layer, toward, away, position, _followed = self._key
        xs = sorted(self.points)
        return SteerCurve(vocab.texts[toward], None if away is None else vocab.texts[away], layer, position,
                          tuple(xs), tuple(self.points[x] for x in xs),
                          tuple(self.predictions.get(x, ("", 0.0)) for x in xs),
                          None if st is None else float(st.alpha))

    def figure_problem(self) -> str | None:
        """Why there is no α curve to draw yet, or None."""
        curve = self.dose_curve()
        return NO_CURVE if curve is None else curve.problem()


def steer_plot(curve: SteerCurve, theme: PlotTheme) -> pg.PlotWidget:
    """A plot of a dose-response curve for a picture: the curve, the current α marked,
    both tokens named, and the model's prediction written where it changes along α."""
    xs, ys = np.array(curve.alphas), np.array(curve.diffs)
    where = " every position" if curve.position is None else f" position {curve.position}"
    plot = plot_widget(theme, f"Steering toward {curve.direction()} after block {curve.layer},{where}", curve.value_label(),
                       "α (added along the unit direction)")
    plot.setMinimumHeight(0)
    plot.plot(xs, ys, pen=pg.mkPen(theme.accent, width=2), symbol="o", symbolSize=6, symbolBrush=theme.accent,
              symbolPen=None)
    plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(theme.axis, width=1)))
    if curve.current is not None and curve.current in curve.alphas:
        y = curve.diffs[curve.alphas.index(curve.current)]
        plot.plot([curve.current], [y], pen=None, symbol="o", symbolSize=12, symbolBrush=theme.second, symbolPen=None)
        plot.addItem(pg.InfiniteLine(curve.current, angle=90, pen=pg.mkPen(theme.second, width=1,
                                                                           style=Qt.PenStyle.DashLine)))
    for k, side in _prediction_labels(curve):
        token, prob = curve.predictions[k]
        color = theme.second if curve.current is not None and xs[k] == curve.current else theme.text
        label = pg.TextItem(f"{quoted(token)} {100 * prob:.0f}%", color=color,
                            anchor=(1, 1) if side > 0 else (0, 0))
        label.setPos(float(xs[k]), float(ys[k]))
        plot.addItem(label)
    # Room above and below the curve for the labels, so none is cut at the frame.
    span = float(ys.max() - ys.min()) or 1.0
    plot.setYRange(float(ys.min()) - _LABEL_H * span * 1.6, float(ys.max()) + _LABEL_H * span * 1.6, padding=0.02)
    return plot


_LABEL_H = 0.09  # a label's height as a fraction of the curve's y span (slide and window alike)
_PLOT_CHARS = 70  # about how many label characters fit across the plot


def _prediction_labels(curve: SteerCurve) -> list[tuple[int, int]]:
    """Which points get their prediction written, and on which side: +1 above-left,
    -1 below-right of the point (both clear of a rising curve). The current α and the
    ends come first, then each point where the prediction changes; a label that would
    overlap one already placed is left out rather than drawn over it."""
    n = len(curve.alphas)
    if n == 0:
        return []
    xs = np.asarray(curve.alphas, dtype=float)
    ys = np.asarray(curve.diffs, dtype=float)
    x0, xw = xs.min(), float(np.ptp(xs)) or 1.0
    y0, yh = ys.min(), float(np.ptp(ys)) or 1.0
    changes = [k for k in range(n) if k == 0 or curve.predictions[k][0] != curve.predictions[k - 1][0]]
    first = [curve.alphas.index(curve.current)] if curve.current in curve.alphas else []
    if first:  # the marked point names its run's token; that run's start needn't again
        start = max(k for k in changes if k <= first[0])
        changes = [k for k in changes if k != start]
    order = list(dict.fromkeys(first + [0, n - 1] + changes))
    if n > 1 and order[1:] and curve.predictions[0][0] == curve.predictions[-1][0] and n - 1 not in changes:
        order = [k for k in order if k != n - 1 or k in first]
    placed: list[tuple[float, float, float, float]] = []
    chosen: list[tuple[int, int]] = []
    for k in order:
        token, _ = curve.predictions[k]
        w = (len(quoted(token)) + 5) / _PLOT_CHARS
        x, y = (xs[k] - x0) / xw, (ys[k] - y0) / yh
        # The side that stays inside the frame first; at the left end text runs right.
        sides = (-1, 1) if x - w < 0 else (1, -1)
        for side in sides:
            box = (x - w, y, x, y + _LABEL_H) if side > 0 else (x, y - _LABEL_H, x + w, y)
            if box[0] < -0.01 or box[2] > 1.01:
                continue
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                placed.append(box)
                chosen.append((k, side))
                break
    return chosen
