"""Compare and patch: a second prompt on the same sphere, and activation patching from the
first (clean) into the second (corrupt) across every layer and position."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from spherescope.core.patching import angles
from spherescope.core.text import quoted, visible
from spherescope.render.styles import PlotTheme
from spherescope.state.session import Session
from spherescope.widgets.lessons.common import THEME, LazyRefresh, LessonDock, caption, plot_widget, recovery_heatmap


UPSAMPLE = 8  # SVG viewers smooth embedded images; a few pixels per cell keeps their edges


def swap_words(text: str, a: str, b: str) -> str:
    """`text` with the words of the tokens `a` and `b` swapped, where they stand as whole
    words (' the' is not swapped inside ' there')."""
    import re

    def pattern(word: str) -> str:
        edge = r"(?<!\w)" if word[:1].isalnum() else ""
        return edge + re.escape(word) + (r"(?!\w)" if word[-1:].isalnum() else "")

    a, b = a.strip(), b.strip()  # ' Mary' and 'Mary' (at the start) are the same word
    if not a or not b or a == b:
        return text
    return re.sub(f"{pattern(a)}|{pattern(b)}", lambda m: b if m.group(0) == a else a, text)


class CompareDock(LazyRefresh, LessonDock):
    def __init__(self, session: Session, controller=None, parent=None, theme: PlotTheme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or THEME
        self.s = session
        self.controller = controller
        self.second = QLineEdit()
        self.second.setObjectName("comparePrompt")
        self.second.setPlaceholderText("A second prompt: a counterfactual of the first (Return to compare)")
        self.second.returnPressed.connect(self.compare)
        self.swap = QPushButton("Swap the plane's tokens")
        self.swap.setToolTip("The first prompt with the plane's two tokens swapped (' Mary' <-> ' John')")
        self.swap.clicked.connect(self.swap_tokens)
        self.go = QPushButton("Compare")
        self.go.clicked.connect(self.compare)
        self.heads_button = QPushButton("Patch heads")
        self.heads_button.setToolTip("Copy each head's output at the last position from the first run into the second: "
                                     "a blocks x heads grid")
        self.heads_button.clicked.connect(lambda: controller.run_head_patching() if controller else None)
        self.patch_button = QPushButton("Run patching")
        self.patch_button.setObjectName("patchButton")
        self.patch_button.clicked.connect(lambda: controller.run_patching() if controller else None)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: controller.cancel_patching() if controller else None)
        self.tokens = QLabel("")
        self.tokens.setObjectName("compareTokens")
        self.tokens.setWordWrap(True)
        # Room for its three lines from the start, so the plots do not jump when they fill.
        self.tokens.setMinimumHeight(3 * self.tokens.fontMetrics().lineSpacing() + 4)
        self._build_plots()
        self._lay_out()
        self._listen(session)

    def _build_plots(self) -> None:
        th = self.theme
        self.angle_plot = plot_widget(th, "Angle between the two hidden states", "degrees", "layer")
        self.angle = self.angle_plot.plot(pen=pg.mkPen(th.third, width=2))
        self.diff_plot = plot_widget(th, "Logit difference, layer by layer (lens)", "Δ logit", "layer")
        self.diff_first = self.diff_plot.plot(pen=pg.mkPen(th.accent, width=2), name="first")
        self.diff_second = self.diff_plot.plot(pen=pg.mkPen(th.second, width=2), name="second")
        self.diff_plot.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen(th.axis, width=1)))
        legend = self.diff_plot.addLegend(offset=(10, 5), labelTextColor=th.text, labelTextSize="8pt", colCount=2)
        legend.addItem(self.diff_first, "first prompt")
        legend.addItem(self.diff_second, "second")
        self.heat_plot = plot_widget(th, "Patching: recovery of the first prompt's logit difference", "layer",
                                     "position in the second prompt")
        self.heat_plot.setObjectName("patchingHeatmap")
        self.heat_plot.showGrid(x=False, y=False)  # grid lines through the cells read as stripes in the data
        self.heat, self.bar = recovery_heatmap(self.heat_plot, th, axisOrder="row-major")
        self.heat_plot.getPlotItem().invertY(False)
        self.cell = pg.TextItem("", color=th.text, anchor=(0, 1), fill=pg.mkBrush(*th.plate))
        self.cell.setZValue(20)
        self.cell.setVisible(False)  # an empty text item still paints its plate
        self.heat_plot.addItem(self.cell, ignoreBounds=True)
        self.heat_plot.scene().sigMouseClicked.connect(self._on_click)
        self.heat_plot.scene().sigMouseMoved.connect(self._on_move)
        from spherescope.widgets.lessons.head_grid import HeadGridPlot

        self.head_grid = HeadGridPlot(th, lambda b, h: self.controller.show_patched_head(b, h)
                                      if self.controller is not None else None)
        self.readout = QLabel("")
        self.readout.setObjectName("patchReadout")
        self.readout.setWordWrap(True)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel("Second prompt"))
        row.addWidget(self.second, 1)
        row.addWidget(self.swap)
        row.addWidget(self.go)
        row.addWidget(self.patch_button)
        row.addWidget(self.heads_button)
        row.addWidget(self.cancel_button)
        left = QVBoxLayout()
        left.addWidget(self.angle_plot, 1)
        left.addWidget(self.diff_plot, 1)
        plots = QHBoxLayout()
        plots.addLayout(left, 2)
        plots.addWidget(self.heat_plot, 3)
        plots.addWidget(self.head_grid.plot, 2)
        self.head_grid.plot.setMinimumWidth(0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(caption(
            "Run a counterfactual beside the prompt: its path is drawn on the sphere in green to yellow. Patching "
            "copies the first run's residual at one layer and position into the second run and measures how much of "
            "the first run's logit(target) − logit(contrast) comes back: 1 is all of it. Click a cell to see that run."))
        lay.addLayout(row)
        lay.addWidget(self.tokens)
        lay.addLayout(plots, 1)
        lay.addWidget(self.readout)

    def _listen(self, session) -> None:
        for sig in (session.comparison.trace_changed, session.trace_finished, session.comparison.grid_changed,
                    session.position_changed, session.comparison.diffs_changed, session.comparison.running_changed,
                    session.plane_tokens_changed, session.comparison.head_grid_changed,
                    session.comparison.heads_running_changed):
            sig.connect(self.request_refresh)
        session.comparison.prompt_changed.connect(lambda p: self.second.text() != p and self.second.setText(p), owner=self)

    def sync(self) -> None:
        """Everything from the session as it is now (a dock made after it changed)."""
        self.second.setText(self.s.comparison.prompt)
        self.refresh()

    # ---- commands ----
    def compare(self) -> None:
        if self.controller is not None:
            self.controller.compare(self.second.text())

    def swap_tokens(self) -> None:
        s = self.s
        if s.vocab is None or len(s.plane_tokens) < 2 or not s.prompt:
            if self.controller is not None:
                self.controller.notify("Run a prompt and choose the plane's two tokens first: they are what is swapped.")
            return
        a, b = (s.vocab.texts[int(i)] for i in s.plane_tokens[:2])
        swapped = swap_words(s.prompt, a, b)
        if swapped == s.prompt:
            if self.controller is not None:
                self.controller.notify(f"Neither {quoted(a)} nor {quoted(b)} is in the prompt as a word, so there is "
                                       "nothing to swap: type the second prompt, or click a lens row to choose the "
                                       "plane's second token.")
            return
        self.second.setText(swapped)
        self.compare()

    # ---- drawing ----
    def refresh(self) -> None:
        s = self.s
        first, second = s.path(), s.compare_path()
        self.tokens.setText(self._tokens_text())
        if first is not None and second is not None and len(first) == len(second):
            self.angle.setData(np.arange(len(first)), angles(first, second))
            self.angle_plot.set_empty(None)
        else:
            self.angle.setData([], [])
            self.angle_plot.set_empty(
                "Run a prompt first." if first is None else
                "Type a second prompt and press Return: the angle between the two hidden states appears here."
                if second is None else "The prompts differ in length, so their layers can't be paired.")
        diffs = s.comparison.diffs
        if diffs is not None:
            self.diff_first.setData(np.arange(len(diffs[0])), diffs[0])
            self.diff_second.setData(np.arange(len(diffs[1])), diffs[1])
            self.diff_plot.set_empty(None)
        else:
            self.diff_plot.set_empty("With a second prompt, the lens's logit difference for each prompt appears here.")
            self.diff_first.setData([], [])
            self.diff_second.setData([], [])
        self._draw_grid()
        heads = self.head_grid.show(s.comparison.head_grid, s.vocab, s.comparison.heads_running)
        if heads:
            self.readout.setText(f"{self.readout.text()} {heads}")

    def _tokens_text(self) -> str:
        s = self.s
        if s.comparison.trace is None or not s.tokens:
            return "Type a second prompt and press Return (or Swap the plane's tokens)."
        one = " ".join(visible(t.text, 14) for t in s.tokens)
        two = " ".join(visible(t.text, 14) for t in s.comparison.trace.tokens)
        text = f"First ({len(s.tokens)} tokens): {one}\nSecond ({len(s.comparison.trace.tokens)}): {two}"
        if len(s.tokens) != len(s.comparison.trace.tokens):
            text += "\nThe lengths differ: the paths compare last token with last; patching needs equal lengths."
        if s.comparison.label and s.comparison.label != "second prompt":
            text += f"\nOn the sphere now: the second prompt {s.comparison.label}."
        return text

    def _draw_grid(self) -> None:
        g = self.s.comparison.grid
        if g is None:
            self.heat.clear()
            self.readout.setText("Patching runs on the two prompts when you press Run patching." if not self.s.comparison.running
                                 else "Tracing both prompts…")
            self.heat_plot.set_empty("Press Run patching: each cell copies one layer and position of the first run "
                                     "into the second." if not self.s.comparison.running else "Tracing both prompts…")
            return
        self.heat_plot.set_empty(None)
        m = np.nan_to_num(g.matrix, nan=0.0)
        self.heat.setImage(np.kron(m, np.ones((UPSAMPLE, UPSAMPLE))), levels=(-1.0, 1.0))
        self.heat.setRect(-0.5, -0.5, m.shape[1], m.shape[0])
        ax = self.heat_plot.getPlotItem().getAxis("bottom")
        # Every other token a line lower: side by side, neighbours ran into each other
        # ("␣Mary␣bought") once a prompt had more than a few tokens.
        stagger = len(g.tokens) > 6
        ax.setTicks([[(p, ("\n" if stagger and p % 2 else "") + visible(t.text, 10)) for p, t in enumerate(g.tokens)]])
        if stagger:  # pyqtgraph sizes the axis for one line of ticks; the label went over the second
            line = QFontMetrics(ax.style.get("tickFont") or ax.font()).height()
            ax.setHeight(int(3 * line + 14))
        else:
            ax.setHeight(None)
        done = g.rows_done()
        vocab = self.s.vocab
        names = (quoted(vocab.texts[g.target]), quoted(vocab.texts[g.contrast])) if vocab is not None else ("", "")
        self.heat_plot.setTitle(f"Patching: recovery of logit({names[0]}) − logit({names[1]})",
                                color=self.theme.title, size="9pt")
        status = f"{done} of {m.shape[0]} layers done" if done < m.shape[0] else "all layers done"
        self.readout.setText(
            f"Recovering logit({names[0]}) − logit({names[1]}): first (clean) {g.clean_diff:+.2f}, second (corrupt) "
            f"{g.corrupt_diff:+.2f}; {status}. Layer 0 is the embeddings, the last the residual before the final norm.")

    def _cell_at(self, scene_pos):
        g = self.s.comparison.grid
        vb = self.heat_plot.getPlotItem().getViewBox()
        if g is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        pt = vb.mapSceneToView(scene_pos)
        layer, pos = int(round(pt.y())), int(round(pt.x()))
        if 0 <= layer < g.matrix.shape[0] and 0 <= pos < g.matrix.shape[1]:
            return layer, pos, pt
        return None

    def _on_move(self, scene_pos) -> None:
        hit = self._cell_at(scene_pos)
        g = self.s.comparison.grid
        if hit is None or g is None or np.isnan(g.matrix[hit[0], hit[1]]):
            self.cell.setVisible(False)
            return
        layer, pos, pt = hit
        self.cell.setText(f"layer {layer}, {quoted(g.tokens[pos].text)}: {g.matrix[layer, pos]:+.2f}")
        # Text grows away from the nearer edge, so it is never cut off by the plot's border.
        self.cell.setAnchor((0 if pos < g.matrix.shape[1] / 2 else 1, 1 if layer < g.matrix.shape[0] / 2 else 0))
        self.cell.setPos(pt.x(), pt.y())
        self.cell.setVisible(True)

    def _on_click(self, ev) -> None:
        hit = self._cell_at(ev.scenePos())
        if hit is not None and self.controller is not None:
            self.controller.show_patched(hit[0], hit[1])

    def figure_of(self, view: str):
        """A picture: the patching heatmap ("patching") or the two prompts' angle and
        logit-difference plots ("compare")."""
        if view == "patching":
            self.heat_plot.setParent(None)
            return self.heat_plot
        if view == "head-patching":
            self.head_grid.plot.setParent(None)
            return self.head_grid.plot
        from spherescope.render.plots import composite

        # Side by side: stacked, a 16:9 slide left each plot too flat to read.
        return composite(self.theme.background, [[self.angle_plot.getPlotItem(), self.diff_plot.getPlotItem()]])

    def figure(self):
        return self.figure_of("patching")
