"""Starting the desktop app: QApplication, theme, and the main window.

Only Qt and pyqtgraph are imported here; torch and transformers are imported by the
worker thread when the first model loads, so the window appears first.
"""

from __future__ import annotations

import os
import sys


def _apply_theme(app) -> None:
    from importlib.resources import files

    from PySide6.QtGui import QColor, QIcon, QPalette

    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#151923", QPalette.ColorRole.WindowText: "#c9d3ea",
        QPalette.ColorRole.Base: "#0f131b", QPalette.ColorRole.AlternateBase: "#1a202c",
        QPalette.ColorRole.Text: "#e6ecfa", QPalette.ColorRole.Button: "#243049",
        QPalette.ColorRole.ButtonText: "#e6ecfa", QPalette.ColorRole.Highlight: "#2f6fde",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#1d2330",
        QPalette.ColorRole.ToolTipText: "#e6ecfa", QPalette.ColorRole.PlaceholderText: "#6f7a94",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    app.setPalette(pal)
    res = files("spherescope.resources")
    app.setStyleSheet(res.joinpath("style.qss").read_text(encoding="utf-8"))
    icon = res.joinpath("icons", "spherescope.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))


def configure_qt() -> None:
    """Settings that must be made before the QApplication exists.

    Shared GL contexts matter beyond speed: pyqtgraph compiles each shader once per
    process, so a second view (a new window, an off-screen export) must share the
    first one's context or those program ids are invalid in it.
    """
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QSurfaceFormat

    fmt = QSurfaceFormat()
    # No multisampling: under software OpenGL it doubles the cost of every frame
    # (measured 60 ms vs 28 ms at 1280x800); points are round sprites and lines use
    # GL line smoothing, so the picture stays smooth without it.
    fmt.setSamples(0)
    fmt.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(fmt)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def make_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        configure_qt()
        app = QApplication(argv or sys.argv[:1])
        app.setApplicationName("spherescope")
        app.setOrganizationName("spherescope")
        app.setDesktopFileName("io.github.spherescope")
    _apply_theme(app)
    _collect_garbage_on_gui_thread()
    return app


_GC = None


def _collect_garbage_on_gui_thread() -> None:
    """Python's cyclic GC runs in whichever thread happens to allocate. If it runs in
    the model worker and frees a Qt object that belongs to the GUI thread (a timer, a
    widget), Qt aborts. So automatic collection is off and a GUI-thread timer collects."""
    global _GC
    if _GC is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _GC = GarbageCollector(interval=0.5)


def run_app(model: str | None = None, prompt: str | None = None, scene: str | None = None, device: str = "auto",
            dtype: str | None = None, allow_pickle: bool = False) -> int:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")) and sys.platform.startswith("linux"):
        print("spherescope: error: no display found; run on a desktop, or under xvfb-run.", file=sys.stderr)
        return 1
    app = make_app()
    from spherescope.widgets.main_window import MainWindow
    from spherescope.workers import wait_for_orphans

    options = {"device": device, "allow_pickle": allow_pickle}
    if dtype:
        options["dtype"] = dtype
    win = MainWindow(load_options=options)
    win.show()
    win.start(model=model, prompt=None if scene else prompt)
    if scene:  # `spherescope talk.spherescope`, as a file manager's double-click runs it
        win.open_scene(scene)
    app.aboutToQuit.connect(wait_for_orphans)
    return app.exec()
