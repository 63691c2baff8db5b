"""Export options: size (window, 1080p, 4K or custom), style, transparency, and for
animations the frame rate and camera orbit. The dialog only collects choices."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit,
    QPushButton, QSpinBox, QWidget,
)

SIZES = (("Window size", None), ("1920 × 1080 (Full HD)", (1920, 1080)), ("3840 × 2160 (4K)", (3840, 2160)), ("Custom", "custom"))


@dataclass(frozen=True)
class ExportOptions:
    path: str
    width: int
    height: int
    style: str
    transparent: bool
    fps: int = 6
    orbit_degrees: float = 0.0


class ExportDialog(QDialog):
    def __init__(self, window_size: tuple[int, int], animation: bool = False, style: str = "dark",
                 default_path: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.animation = animation
        self.window_size = window_size
        self.setWindowTitle("Export animation" if animation else "Export image")
        self.path = QLineEdit(default_path)
        self.path.setObjectName("exportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.size_combo = QComboBox()
        for label, value in SIZES:
            self.size_combo.addItem(label, value)
        self.size_combo.setCurrentIndex(1 if animation else 0)
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
        self.style_combo = QComboBox()
        for key, label in (("dark", "Dark (as on screen)"), ("slide", "Slide: light, larger labels, thicker lines"), ("paper", "Paper: white, restrained")):
            self.style_combo.addItem(label, key)
        self.style_combo.setCurrentIndex(max(0, self.style_combo.findData(style)))
        self.transparent = QCheckBox("Transparent background")
        form = QFormLayout(self)
        form.addRow("File", row)
        form.addRow("Size", sizes)
        form.addRow("Style", self.style_combo)
        if animation:
            self.fps = QSpinBox()
            self.fps.setRange(1, 60)
            self.fps.setValue(6)
            self.fps.setSuffix(" frames/s")
            self.orbit = QSpinBox()
            self.orbit.setRange(0, 360)
            self.orbit.setSuffix("° over the sweep")
            form.addRow("Frame rate", self.fps)
            form.addRow("Camera orbit", self.orbit)
        else:
            form.addRow("", self.transparent)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        form.addRow(buttons)
        self._on_size()

    def _on_size(self, *_):
        custom = self.size_combo.currentData() == "custom"
        self.width_spin.setVisible(custom)
        self.height_spin.setVisible(custom)

    def _browse(self) -> None:
        filt = "Video (*.mp4);;Animated GIF (*.gif)" if self.animation else "PNG image (*.png);;JPEG image (*.jpg)"
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
        if self.animation:
            return ExportOptions(self.path.text().strip(), w, h, self.style_combo.currentData(), False,
                                 self.fps.value(), float(self.orbit.value()))
        return ExportOptions(self.path.text().strip(), w, h, self.style_combo.currentData(), self.transparent.isChecked())
