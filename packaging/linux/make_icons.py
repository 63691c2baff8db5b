"""Render the SVG icon to the PNG sizes desktops and installers expect.

    .venv/bin/python packaging/linux/make_icons.py
"""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 32, 48, 64, 128, 256)
ICONS = Path(__file__).resolve().parents[2] / "src" / "spherescope" / "resources" / "icons"


def main() -> None:
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (fonts and rendering need it)
    renderer = QSvgRenderer(str(ICONS / "spherescope.svg"))
    for size in SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        img.save(str(ICONS / f"spherescope-{size}.png"))
        print(f"wrote spherescope-{size}.png")


if __name__ == "__main__":
    main()
