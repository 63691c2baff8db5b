"""Basis and view options: which 3-D basis the sphere uses, and how things are drawn."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QCompleter, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton,
    QVBoxLayout, QWidget,
)

from spherescope.core.text import visible
from spherescope.state.session import Session
from spherescope.widgets.bind import bind

BASIS_NAMES = {
    "unembedding-pca": "Unembedding PCA",
    "token-plane": "Plane of chosen tokens",
    "trajectory-pca": "Trajectory PCA",
}
BASIS_HELP = {
    "unembedding-pca": "The three directions along which the vocabulary's token directions vary most.",
    "token-plane": ("The chosen tokens' directions, made orthonormal (the article's figure); the third axis is the "
                    "path's main direction out of their plane, the same for every layer."),
    "trajectory-pca": "The three directions along which this position's hidden state moves most over the layers.",
}


class BasisDock(QWidget):
    def __init__(self, session: Session, controller, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.controller = controller
        self.kind = QComboBox()
        self.kind.setObjectName("basisCombo")
        for key, name in BASIS_NAMES.items():
            self.kind.addItem(name, key)
        self.help = QLabel(BASIS_HELP["unembedding-pca"])
        self.help.setWordWrap(True)
        self.help.setObjectName("captionLabel")

        self.token_edit = QLineEdit()
        self.token_edit.setObjectName("planeTokenEdit")
        self.token_edit.setPlaceholderText("token, e.g. ␣Mary (␣ is a space)")
        self._completer_model = QStringListModel(self)
        completer = QCompleter(self._completer_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        completer.setMaxVisibleItems(12)
        self.token_edit.setCompleter(completer)
        self.token_edit.returnPressed.connect(self._add_token)
        self.token_edit.textEdited.connect(self._show_spaces)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._add_token)
        self.top2_button = QPushButton("Use prediction and contrast")
        self.top2_button.setToolTip("The top prediction, and the best-ranked token that also occurs in the prompt "
                                    "(' Mary' and ' John' in the article's example)")
        self.top2_button.clicked.connect(self._use_top_predictions)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(lambda: setattr(session, "plane_tokens", ()))
        self.chosen = QLabel("No tokens chosen")
        self.chosen.setObjectName("planeTokens")
        self.chosen.setWordWrap(True)

        self.show_cloud = QCheckBox("Show vocabulary cloud")
        self.color_len = QCheckBox("Colour cloud by token length")
        self.labels = QCheckBox("Label top tokens and prompt tokens")
        self.prompt_labels = QComboBox()
        self.prompt_labels.setObjectName("promptLabels")
        for label, value in (("Labelled", "labels"), ("Dots only", "dots"), ("Hidden", "hidden")):
            self.prompt_labels.addItem(label, value)
        self.prompt_labels.setToolTip("The prompt's tokens on the sphere (their labels give way to the lens's top tokens)")
        self.length_as = QComboBox()
        self.length_as.addItem("Node size (on the sphere)", "size")
        self.length_as.addItem("Node radius (inside the sphere)", "radius")
        self._lay_out()
        self._listen(session)

    def _lay_out(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        form = QFormLayout()
        form.addRow("Basis", self.kind)
        lay.addLayout(form)
        lay.addWidget(self.help)
        row = QHBoxLayout()
        row.addWidget(self.token_edit, 1)
        row.addWidget(self.add_button)
        lay.addLayout(row)
        row2 = QHBoxLayout()
        row2.addWidget(self.top2_button)
        row2.addWidget(self.clear_button)
        lay.addLayout(row2)
        lay.addWidget(self.chosen)
        lay.addSpacing(8)
        lay.addWidget(self.show_cloud)
        lay.addWidget(self.color_len)
        lay.addWidget(self.labels)
        form2 = QFormLayout()
        form2.addRow("Length shown as", self.length_as)
        form2.addRow("Prompt's tokens", self.prompt_labels)
        lay.addLayout(form2)
        lay.addStretch(1)

    def _listen(self, session) -> None:
        session.basis_kind_changed.connect(self._on_kind)
        session.plane_tokens_changed.connect(self._on_tokens)
        session.vocab_changed.connect(self._on_vocab)
        bind(self.kind, session, "basis_kind")
        for widget, name in ((self.show_cloud, "show_cloud"), (self.color_len, "color_by_length"),
                             (self.labels, "show_labels"), (self.prompt_labels, "prompt_labels"), (self.length_as, "length_as")):
            bind(widget, session.appearance, name)
        self._on_kind(session.basis_kind)

    def _show_spaces(self, text: str) -> None:
        """Typed spaces become ␣ as you type, so completion matches the vocabulary's visible form."""
        if " " in text:
            pos = self.token_edit.cursorPosition()
            self.token_edit.setText(text.replace(" ", "␣"))
            self.token_edit.setCursorPosition(pos)
            self.token_edit.completer().setCompletionPrefix(self.token_edit.text())
            self.token_edit.completer().complete()

    def _on_kind(self, kind: str) -> None:
        self.help.setText(BASIS_HELP.get(kind, ""))
        plane = kind == "token-plane"
        if plane:
            self._fill_completer()
        for w in (self.token_edit, self.add_button, self.top2_button, self.clear_button, self.chosen):
            w.setEnabled(plane)

    def _on_vocab(self, vocab) -> None:
        # Filling a 49k-entry completer costs tens of milliseconds on the GUI thread:
        # do it only when token entry is actually used.
        self._completer_filled = False
        if vocab is None:
            self._completer_model.setStringList([])
        elif self.session.basis_kind == "token-plane":
            self._fill_completer()
        self._on_tokens(self.session.plane_tokens)

    def _fill_completer(self) -> None:
        vocab = self.session.vocab
        if vocab is not None and not getattr(self, "_completer_filled", False):
            self._completer_model.setStringList(list(vocab.completions))
            self._completer_filled = True

    def _add_token(self) -> None:
        vocab = self.session.vocab
        tid = None if vocab is None else vocab.token_id(self.token_edit.text())
        if tid is None:
            self.controller.notify(f"No token {self.token_edit.text()!r} in this model's vocabulary.")
            return
        toks = tuple(t for t in self.session.plane_tokens if t != tid) + (tid,)
        self.session.plane_tokens = toks[-3:]
        self.token_edit.clear()

    def _use_top_predictions(self) -> None:
        pair = self.session.contrast_pair()
        if pair is None:
            self.controller.notify("Run a prompt first: the plane uses its prediction and a contrast.")
            return
        self.session.plane_tokens = pair

    def _on_tokens(self, toks) -> None:
        vocab = self.session.vocab
        if not toks:
            self.chosen.setText("No tokens chosen")
        elif vocab is not None:
            self.chosen.setText("Axes: " + ", ".join(f"{visible(vocab.texts[t])} ({t})" for t in toks))
