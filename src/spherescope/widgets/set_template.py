"""The template editor of a prompt set: a prompt with slots, filled from lists.

    When {A} and {B} went to the {place}, {B} gave a drink to     target {A}, contrast {B}

It shows how many prompts the template makes and the first of them as it is typed,
and says in a sentence what is wrong instead of closing on a bad set.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QSpinBox,
                               QVBoxLayout)

from spherescope.core.prompt_set import SetError, expand_template, parse_slot_lists

EXAMPLE = {
    "prompt": "When {A} and {B} went to the {place}, {B} gave a drink to",
    "target": "{A}",
    "contrast": "{B}",
    "corrupt": "When {A} and {B} went to the {place}, {A} gave a drink to",
    "slots": "A: Mary, John, Tom, Anna, James, Sarah\nB: Mary, John, Tom, Anna, James, Sarah\n"
             "place: store, park, school, office",
}


class TemplateDialog(QDialog):
    """`result_set` holds the PromptSet once accepted."""

    def __init__(self, parent=None, initial: dict | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prompt set from a template")
        self.setObjectName("templateDialog")
        self.result_set = None
        v = dict(EXAMPLE, **(initial or {}))
        self.prompt = self._line("templatePrompt", v["prompt"], "A prompt with slots, e.g. {A} and {B}")
        self.target = self._line("templateTarget", v["target"], "The answer: a slot such as {A}, or a token")
        self.contrast = self._line("templateContrast", v["contrast"], "What the answer is compared with")
        self.corrupt = self._line("templateCorrupt", v["corrupt"],
                                  "Optional: the corrupt prompt of each pair, for patching over the set")
        self.slots = QPlainTextEdit(v["slots"])
        self.slots.setObjectName("templateSlots")
        self.slots.setToolTip("A slot a line: NAME: value, value, …  (no value goes in two slots at once)")
        self.slots.setFixedHeight(96)
        self.slots.textChanged.connect(self._preview)
        self.limit = QSpinBox()
        self.limit.setObjectName("templateLimit")
        self.limit.setRange(1, 10_000)
        self.limit.setValue(int(v.get("limit", 64)))
        self.limit.setToolTip("At most this many prompts: a seeded sample when the template makes more")
        self.limit.valueChanged.connect(self._preview)
        self.preview = QLabel("")
        self.preview.setObjectName("templatePreview")
        self.preview.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Target", self.target)
        form.addRow("Contrast", self.contrast)
        form.addRow("Corrupt prompt", self.corrupt)
        form.addRow("Slots", self.slots)
        form.addRow("At most", self.limit)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.preview)
        lay.addWidget(self.buttons)
        self.resize(640, 380)
        self._preview()

    def _line(self, name: str, text: str, tip: str) -> QLineEdit:
        e = QLineEdit(text)
        e.setObjectName(name)
        e.setToolTip(tip)
        e.setPlaceholderText(tip)
        e.textChanged.connect(self._preview)
        return e

    def build(self):
        """The set the fields describe (SetError when they describe none)."""
        return expand_template(self.prompt.text(), parse_slot_lists(self.slots.toPlainText()),
                               target=self.target.text() or None, contrast=self.contrast.text() or None,
                               corrupt=self.corrupt.text() or None, limit=self.limit.value())

    def _preview(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        try:
            s = self.build()
        except SetError as exc:
            self.preview.setText(str(exc))
            self.preview.setProperty("error", True)
            ok.setEnabled(False)
            return
        first = s.rows[0]
        pair = "" if first.target is None else f" → {first.target!r}" + (
            "" if first.contrast is None else f" (against {first.contrast!r})")
        self.preview.setText(f"{len(s)} prompts, the first: {first.prompt!r}{pair}")
        self.preview.setProperty("error", False)
        ok.setEnabled(True)

    def accept(self) -> None:
        try:
            self.result_set = self.build()
        except SetError as exc:
            self.preview.setText(str(exc))
            return
        super().accept()
