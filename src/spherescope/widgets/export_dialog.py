"""Export options: size (window, 1080p, 4K or custom), style, transparency, annotations,
and for animations the frame rate, speed and camera orbit. The dialog only collects
choices; the window's exports act on them."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
    QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget,
)

SIZES = (("Window size", None), ("1920 × 1080 (Full HD)", (1920, 1080)), ("3840 × 2160 (4K)", (3840, 2160)), ("Custom", "custom"))
# (key, label) in the order the dialog shows them; keys as in render.annotations.ANNOTATIONS.
ANNOTATION_LABELS = (("title", "Prompt and prediction"), ("model", "Model name"), ("layer", "Layer counter"),
                     ("colorbar", "Layer colour bar"), ("key", "Colour key"), ("kept", "Kept fraction and legend"))
KINDS = ("image", "animation", "figure")  # the 3-D view; its sweep; a lesson's plot or table


@dataclass(frozen=True)
class ExportOptions:
    path: str
    width: int
    height: int
    style: str
    transparent: bool
    fps: int = 30
    orbit_degrees: float = 0.0
    annotations: frozenset = field(default_factory=frozenset)
    apply_alpha: bool = False  # the confidence lesson's α, only when asked for
    seconds_per_layer: float = 0.25


class ExportDialog(QDialog):
    def __init__(self, window_size: tuple[int, int], animation: bool = False, style: str = "dark",
                 default_path: str = "", parent: QWidget | None = None, kind: str | None = None,
                 annotations: frozenset | None = None) -> None:
        super().__init__(parent)
        self.kind = kind or ("animation" if animation else "image")
        self.animation = self.kind == "animation"
        self.window_size = window_size
        self.setWindowTitle({"image": "Export image", "animation": "Export animation", "figure": "Export figure"}[self.kind])
        self.path = QLineEdit(default_path)
        self.path.setObjectName("exportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.style_combo = QComboBox()
        for key, label in (("dark", "Dark (as on screen)"), ("slide", "Slide: light, large labels, annotated"),
                           ("paper", "Paper: white, restrained")):
            self.style_combo.addItem(label, key)
        self.style_combo.setCurrentIndex(max(0, self.style_combo.findData(style)))
        self.transparent = QCheckBox("Transparent background")
        self.apply_alpha = QCheckBox("Apply the confidence lesson's scale α")
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Size", self._size_row())
        form.addRow("Style", self.style_combo)
        form.addRow("Annotations", self._annotation_grid(annotations))
        self.style_combo.currentIndexChanged.connect(self._on_style)
        if self.animation:
            self._add_animation_rows(form)
        else:
            form.addRow("", self.transparent)
        if self.kind != "figure":
            form.addRow("", self.apply_alpha)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        form.addRow(buttons)
        self._on_size()

    def _size_row(self) -> QHBoxLayout:
        self.size_combo = QComboBox()
        for label, value in SIZES:
            self.size_combo.addItem(label, value)
        self.size_combo.setCurrentIndex(1 if self.kind != "image" else 0)
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(16, 16384)
            spin.setSuffix(" px")
        self.width_spin.setValue(1920)
        self.height_spin.setValue(1080)
        self.size_combo.currentIndexChanged.connect(self._on_size)
        sizes = QHBoxLayout()
        sizes.addWidget(self.size_combo)
        sizes.addWidget(self.width_spin)
        sizes.addWidget(self.height_spin)
        return sizes

    def _annotation_grid(self, annotations: frozenset | None) -> QGridLayout:
        self.notes = {}
        notes = QGridLayout()
        for k, (key, label) in enumerate(ANNOTATION_LABELS):
            box = QCheckBox(label)
            box.setObjectName(f"annotate_{key}")
            self.notes[key] = box
            notes.addWidget(box, k // 3, k % 3)
        self._annotations_set = annotations is not None
        self._set_annotations(annotations if annotations is not None else self._style_default())
        for box in self.notes.values():
            box.toggled.connect(self._annotations_touched)
        return notes

    def _add_animation_rows(self, form: QFormLayout) -> None:
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(30)
        self.fps.setSuffix(" frames/s")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.05, 5.0)
        self.speed.setSingleStep(0.05)
        self.speed.setValue(0.25)
        self.speed.setSuffix(" s per layer")
        self.orbit = QSpinBox()
        self.orbit.setRange(0, 360)
        self.orbit.setSuffix("° over the sweep, ending on the prediction")
        form.addRow("Frame rate", self.fps)
        form.addRow("Speed", self.speed)
        form.addRow("Camera orbit", self.orbit)

    def _style_default(self) -> frozenset:
        return frozenset(k for k, _l in ANNOTATION_LABELS) if self.style_combo.currentData() == "slide" else frozenset()

    def _set_annotations(self, which) -> None:
        for key, box in self.notes.items():
            box.blockSignals(True)
            box.setChecked(key in which)
            box.blockSignals(False)

    def _annotations_touched(self, *_):
        self._annotations_set = True

    def _on_style(self, *_):
        # Annotations follow the style (on for slides) until the user picks them.
        if not self._annotations_set:
            self._set_annotations(self._style_default())

    def _on_size(self, *_):
        custom = self.size_combo.currentData() == "custom"
        self.width_spin.setVisible(custom)
        self.height_spin.setVisible(custom)

    def _browse(self) -> None:
        filt = {"animation": "Video (*.mp4);;Animated GIF (*.gif)",
                "image": "PNG image (*.png);;JPEG image (*.jpg);;SVG drawing (*.svg)",
                "figure": "PNG image (*.png);;SVG drawing (*.svg)"}[self.kind]
        path, _ = QFileDialog.getSaveFileName(self, self.windowTitle(), self.path.text(), filt)
        if path:
            self.path.setText(path)

    def options(self) -> ExportOptions:
        value = self.size_combo.currentData()
        if value == "custom":
            w, h = self.width_spin.value(), self.height_spin.value()
        elif value is None:
            w, h = self.window_size
        else:
            w, h = value
        notes = frozenset(k for k, box in self.notes.items() if box.isChecked())
        style = self.style_combo.currentData()
        if self.animation:
            return ExportOptions(self.path.text().strip(), w, h, style, False, self.fps.value(), float(self.orbit.value()),
                                 notes, self.apply_alpha.isChecked(), float(self.speed.value()))
        return ExportOptions(self.path.text().strip(), w, h, style, self.transparent.isChecked(), annotations=notes,
                             apply_alpha=self.apply_alpha.isChecked())
