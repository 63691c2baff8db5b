"""Prompt dock: the model picker, the prompt editor with Run/Cancel, and the token chips."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
    QToolButton, QMenu, QVBoxLayout, QWidget,
)

from spherescope.state.session import Session
from spherescope.widgets.token_chips import TokenChips

EXAMPLES = (
    "John and Mary went to the bar. John bought a drink for",
    " The cat went up the stairs.",
    "The capital of France is",
    "One, two, three, four,",
)
_DIALOG = "__model_dialog__"


class PromptDock(QWidget):
    model_dialog_requested = Signal()

    def __init__(self, session: Session, controller, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.controller = controller
        self._embedded = controller.catalog.embedded

        self.model_combo = QComboBox()
        self.model_combo.setObjectName("modelCombo")
        self.model_combo.setToolTip("The model to trace: the embedded SmolLM2, a recent one, or browse for a folder or .gguf file")
        self.model_combo.activated.connect(self._on_model_activated)

        self.editor = QPlainTextEdit()
        self.editor.setObjectName("promptEditor")
        self.editor.setPlaceholderText("Type a prompt, then Run (Ctrl+Enter)")
        self.editor.setTabChangesFocus(True)
        self.editor.setMaximumHeight(110)

        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Trace the prompt through every layer (Ctrl+Enter)")
        self.run_button.clicked.connect(self.request_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(controller.cancel)
        self.examples_button = QToolButton()
        self.examples_button.setText("Examples")
        self.examples_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._examples_menu = QMenu(self.examples_button)
        self.examples_button.setMenu(self._examples_menu)
        self._examples_menu.aboutToShow.connect(self._fill_examples)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(seq), self.editor)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self.request_run)

        self.chips = TokenChips(session)
        self.info = QLabel("")
        self.info.setObjectName("modelInfo")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self._lay_out()
        self._listen(session)

    def _lay_out(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(QLabel("Model"))
        lay.addWidget(self.model_combo)
        lay.addWidget(self.info)
        lay.addWidget(QLabel("Prompt"))
        lay.addWidget(self.editor)
        row = QHBoxLayout()
        row.addWidget(self.examples_button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.run_button)
        lay.addLayout(row)
        lay.addWidget(QLabel("Tokens (click one to follow it)"))
        lay.addWidget(self.chips, 1)

    def _listen(self, session) -> None:
        session.busy_changed.connect(self._on_busy)
        session.model_info_changed.connect(self._on_model_info)
        session.model_ref_changed.connect(lambda _ref: self._rebuild_combo(), owner=self)
        session.recent_models_changed.connect(lambda _refs: self._rebuild_combo(), owner=self)
        self._rebuild_combo()

    # ---- model picker ----
    def _rebuild_combo(self) -> None:
        combo = self.model_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(self.controller.catalog.embedded_label, self._embedded)
        for ref in self.session.recent_models:
            combo.addItem(ref, ref)
        combo.insertSeparator(combo.count())
        combo.addItem("Open model… (folder, .gguf, hub id; device, precision)", _DIALOG)
        current = self.session.model_ref
        idx = combo.findData(current)
        if idx < 0:
            combo.insertItem(1, current, current)
            idx = 1
        combo.setCurrentIndex(idx)
        combo.blockSignals(False)

    def _on_model_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data == _DIALOG:
            self._rebuild_combo()  # show the current model until the dialog chooses another
            self.model_dialog_requested.emit()
        elif data:
            self.choose_model(data)

    def choose_model(self, ref: str) -> None:
        if ref != self._embedded:
            self.session.recent_models = (ref, *[r for r in self.session.recent_models if r != ref][:7])
        if ref != self.session.model_ref:
            self.controller.load(ref)
        self._rebuild_combo()

    def _on_model_info(self, info) -> None:
        if info is None:
            self.info.setText("")
            return
        self.info.setText(
            f"{info.architecture} · {info.num_layers} layers · d={info.hidden_size} · vocab {info.vocab_size:,} · "
            f"{'tied' if info.tied_embeddings else 'untied'} embeddings · {info.parameters / 1e6:.0f}M params"
        )

    # ---- prompt ----
    def _fill_examples(self) -> None:
        m = self._examples_menu
        m.clear()
        for text in EXAMPLES:
            m.addAction(text, lambda t=text: self.editor.setPlainText(t))
        if self.session.recent_prompts:
            m.addSeparator()
            for text in self.session.recent_prompts[:8]:
                m.addAction(text[:60] + ("…" if len(text) > 60 else ""), lambda t=text: self.editor.setPlainText(t))

    def request_run(self) -> None:
        prompt = self.editor.toPlainText()
        if prompt and len(prompt) <= 2000:
            self.session.recent_prompts = (prompt, *[p for p in self.session.recent_prompts if p != prompt][:19])
        self.controller.run(prompt)

    def _on_busy(self, busy: str) -> None:
        self.cancel_button.setEnabled(bool(busy))
