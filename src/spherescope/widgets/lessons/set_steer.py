"""The Prompt set tab's steering page: one direction added after one block for every
prompt of the set, swept over α, with the set's mean target − contrast and its spread.

The natural direction for a set of pairs is each prompt's own: toward its contrast and
away from its target (the Steer tab's "Toward the contrast", prompt by prompt); a fixed
token's direction is the other choice."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.set_plots import SetSteerPlot
from spherescope.widgets.lessons.steer_tokens import direction_ids, no_token, token_edits

OWN = "own"
TOKEN = "token"


class SetSteerPage(QWidget):
    def __init__(self, session, controller, theme: PlotTheme, parent=None) -> None:
        super().__init__(parent)
        self.s, self.controller = session, controller
        self.direction = QComboBox()
        self.direction.setObjectName("setSteerDirection")
        self.direction.addItem("Toward each prompt's contrast", OWN)
        self.direction.addItem("Toward a token", TOKEN)
        self.direction.setToolTip("Each prompt's own direction (its contrast's minus its target's), or one token's "
                                  "(minus another's) for every prompt")
        self.direction.currentIndexChanged.connect(lambda _i: self._sync_direction())
        self.direction.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.toward, self.away = token_edits("setSteerToward", "setSteerAway")
        for edit in (self.toward, self.away):  # room for a name and its ␣, beside the combo and the spin box
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("␣Johnathan") + 16)
        self.layer = QSpinBox()
        self.layer.setObjectName("setSteerLayer")
        self.layer.setPrefix("after block ")
        self.layer.setToolTip("The direction is added to the residual after this block (0: to the embeddings)")
        self.sweep_button = QPushButton("Sweep the set")
        self.sweep_button.setObjectName("setSteerSweep")
        self.sweep_button.setToolTip("Every prompt at 21 values of α out to 3 × the set's median |h| at this layer")
        self.sweep_button.clicked.connect(self.sweep)
        self.plot = SetSteerPlot(theme)  # its sentence goes in the dock's readout (widgets.lessons.sets)
        # Two rows, the tokens' under the rest, so the page is no wider than its plot needs.
        row, tokens = QHBoxLayout(), QHBoxLayout()
        for w in (self.direction, self.layer, self.sweep_button):
            row.addWidget(w)
        row.addStretch(1)
        for w in (self.toward, self.away):
            tokens.addWidget(w, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addLayout(tokens)
        lay.addWidget(self.plot.plot, 1)
        self._sync_direction()

    def _sync_direction(self) -> None:
        token = self.direction.currentData() == TOKEN
        self.toward.setVisible(token)
        self.away.setVisible(token)

    def set_layers(self, n: int) -> None:
        """The model's blocks: the spin box's range, and its middle as the default."""
        if self.layer.maximum() != n:
            self.layer.setRange(0, n)
            self.layer.setValue(n // 2)

    def sweep(self) -> None:
        if self.controller is None:
            return
        if self.direction.currentData() == OWN:
            self.controller.run_set_steering(self.layer.value())
            return
        vocab = self.s.vocab
        toward, away, bad = ((None, None, self.toward.text()) if vocab is None else
                             direction_ids(vocab, self.toward.text(), self.away.text()))
        if bad is not None:
            self.controller.notify(no_token(bad) if bad.strip() else
                                   "Type a token to steer toward (e.g. ␣John), or steer toward each prompt's contrast.",
                                   True)
            return
        self.controller.run_set_steering(self.layer.value(), toward, away)

    def refresh(self) -> None:
        sets = self.s.sets
        if self.s.num_layers:
            self.set_layers(self.s.num_layers)
        summary = sets.summary
        can = summary is not None and summary.final_diff is not None
        self.sweep_button.setEnabled(can and not sets.steer_running and not sets.running)
        self.plot.show(sets.steer, can, sets.steer_running)
