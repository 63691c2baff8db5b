"""Open model: choose a source, see what it is and what it will cost, then load it.

The summary is read from headers only (models.summary), so it updates as the user
types; the memory estimate is compared with what is free where the weights will go,
and a model that will not fit is said so before anything is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
    QPushButton, QVBoxLayout,
)

from spherescope.controller import ModelCatalog

LENS_NOTE = "The lens and all geometry are computed in float32, whatever the weights' precision."
_PRECISIONS = (("As stored", None), ("float32", "float32"), ("float16", "float16"), ("bfloat16", "bfloat16"))


@dataclass(frozen=True)
class ModelChoice:
    ref: str
    options: dict  # device, dtype, allow_pickle: load_model's keyword arguments


class ModelDialog(QDialog):
    def __init__(self, current: str | None = None, recent: list[str] | None = None, options: dict | None = None,
                 parent=None, catalog: ModelCatalog | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog or ModelCatalog()
        self.setWindowTitle("Open model")
        self.setObjectName("modelDialog")
        self.summary = None
        options = dict(options or {})
        form = QFormLayout()
        form.addRow("Model", self._source_row(current or self.catalog.embedded, recent or []))
        self._build_load_choices(options)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.load_button = self.buttons.addButton("Load", QDialogButtonBox.ButtonRole.AcceptRole)
        self.load_button.setObjectName("modelLoad")
        self.load_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.allow_pickle)
        self._add_summary(lay)
        lay.addStretch(1)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(660)
        # Typing a path reads its headers after a short pause, not on every key.
        self._debounce = QTimer(self, singleShot=True, interval=200)
        self._debounce.timeout.connect(self.refresh)
        self.source.editTextChanged.connect(lambda _t: self._debounce.start())
        self.source.currentIndexChanged.connect(lambda _i: self.refresh())
        self.device.currentIndexChanged.connect(lambda _i: self._refresh_memory())
        self.precision.currentIndexChanged.connect(lambda _i: self._refresh_memory())
        self.refresh()

    def _source_row(self, current: str, recent: list[str]) -> QHBoxLayout:
        catalog = self.catalog
        self.source = QComboBox()
        self.source.setObjectName("modelSource")
        self.source.setEditable(True)
        self.source.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.source.addItem(catalog.embedded_label, catalog.embedded)
        for ref in recent:
            if ref and ref != catalog.embedded:
                self.source.addItem(ref, ref)
        self.source.lineEdit().setPlaceholderText("a folder, a .gguf file, or a hub id such as gpt2")
        self.source.setToolTip("The embedded SmolLM2, a recent model, a local folder or .gguf file, or a Hugging Face hub id")
        self.set_source(current)
        folder = QPushButton("Folder…")
        folder.setToolTip("Open a model folder (with config.json)")
        folder.clicked.connect(self._browse_dir)
        gguf = QPushButton("GGUF file…")
        gguf.setToolTip("Open a .gguf model file")
        gguf.clicked.connect(self._browse_gguf)
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        for b in (folder, gguf):
            b.setMinimumWidth(b.sizeHint().width() + 12)
            row.addWidget(b)
        return row

    def _build_load_choices(self, options: dict) -> None:
        catalog = self.catalog
        self.device = QComboBox()
        self.device.setObjectName("modelDevice")
        for label, value in catalog.device_choices():
            if value == "auto":
                label = f"Automatic ({catalog.likely_device('auto')})"
            self.device.addItem(label, value)
        self._select(self.device, options.get("device", "auto"))
        self.precision = QComboBox()
        self.precision.setObjectName("modelPrecision")
        for label, value in _PRECISIONS:
            self.precision.addItem(label, value)
        self._select(self.precision, options.get("dtype"))
        self.allow_pickle = QCheckBox("Allow pickled .bin checkpoints (they can run code: only for sources you trust)")
        self.allow_pickle.setChecked(bool(options.get("allow_pickle", False)))

    def _add_summary(self, lay: QVBoxLayout) -> None:
        """The model's facts from its headers, its memory, a warning, notes."""
        self.facts = QFormLayout()
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        box = QGroupBox("Summary")
        box.setLayout(self.facts)
        self.memory = QLabel("")
        self.memory.setObjectName("modelMemory")
        self.memory.setWordWrap(True)
        self.warning = QLabel("")
        self.warning.setObjectName("modelWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #d9534f; font-weight: 600;")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        lens = QLabel(LENS_NOTE)
        lens.setWordWrap(True)
        lens.setObjectName("lensNote")
        for w in (box, self.memory, self.warning, self.note, lens):
            lay.addWidget(w)

    # ---- what the user chose ----
    def ref(self) -> str:
        text = self.source.currentText().strip()
        idx = self.source.findText(text)
        if idx >= 0 and self.source.itemData(idx):
            return self.source.itemData(idx)
        return text

    def choice(self) -> ModelChoice:
        # "Load anyway" (shown when the estimate exceeds the free memory) is the window's
        # --ignore-memory, for this load only.
        opts = self.catalog.load_options(self.device.currentData(), self.precision.currentData(),
                                         self.allow_pickle.isChecked(), self.load_button.text() == "Load anyway")
        return ModelChoice(self.ref(), opts)

    def set_source(self, ref: str) -> None:
        idx = self.source.findData(ref)
        if idx >= 0:
            self.source.setCurrentIndex(idx)
        else:
            self.source.setEditText(ref)

    @staticmethod
    def _select(combo: QComboBox, value) -> None:
        idx = combo.findData(value)
        combo.setCurrentIndex(max(idx, 0))

    def _browse_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a model folder (with config.json)")
        if path:
            self.set_source(path)
            self.refresh()

    def _browse_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a GGUF model", "", "GGUF models (*.gguf);;All files (*)")
        if path:
            self.set_source(path)
            self.refresh()

    # ---- the summary ----
    def refresh(self) -> None:
        self._debounce.stop()
        while self.facts.rowCount():
            self.facts.removeRow(0)
        self.summary = None
        self._set_note(self.note, "")
        ref = self.ref()
        loadable = False
        if not ref:
            self.facts.addRow(QLabel("Type a folder, a .gguf file or a hub id, or browse."))
            self.load_button.setEnabled(False)
            self._refresh_memory()
            return
        described = self.catalog.describe(ref)
        self.summary = described.summary
        # An uncached hub id has no summary yet but can still be loaded (downloaded).
        loadable = described.kind == "hub"
        if described.summary is None:
            msg = QLabel(described.error)
            msg.setWordWrap(True)
            msg.setObjectName("modelSummaryError")
            self.facts.addRow(msg)
        else:
            for name, value in self.summary.lines():
                label = QLabel(value)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.facts.addRow(name, label)
            self._set_note(self.note, self.summary.note)
            loadable = True
        self.load_button.setEnabled(loadable)
        self._refresh_memory()

    @staticmethod
    def _set_note(label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))  # an empty word-wrapped label still takes a line

    def _device_for_memory(self) -> str:
        return self.catalog.likely_device(self.device.currentData())

    def _refresh_memory(self) -> None:
        s = self.summary
        dtype = self.precision.currentData()
        self._set_note(self.warning, "")
        self.load_button.setText("Load")
        if s is None:
            self._set_note(self.memory, "")
            return
        device = self._device_for_memory()
        free = self.catalog.available_memory(device)
        w = s.weight_bytes(dtype)
        self._set_note(self.memory,
            f"Estimated memory: {self.catalog.human_bytes(s.memory_bytes(dtype))} "
            f"(weights {self.catalog.human_bytes(w)} as {dtype or s.loads_as}, plus the float32 lens and token directions) · "
            f"free on {device}: {self.catalog.human_bytes(free) if free is not None else 'unknown'}"
        )
        warn = self.catalog.memory_warning(s, dtype, device, free)
        if warn:
            self._set_note(self.warning, warn)
            self.load_button.setText("Load anyway")
