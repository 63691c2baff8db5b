"""The cost of a frame before spherescope draws anything, and why the view stays a widget.

    xvfb-run -a -s "-screen 0 2000x1000x24 +extension GLX" .venv/bin/python benchmarks/bench_gl_floor.py

1. An empty frame (clear only) at 1280x800 inside a 1980x880 main window with a dock
   whose 20 labels change every frame: as a QOpenGLWidget (what the app uses), and as a
   QOpenGLWindow in a window container. Under software OpenGL the widget's frame is
   mostly Qt composing the GL texture into the window.

The app uses the container (render/sphere_window.py). Keys and drops that the embedded
window does not use are passed on to the widgets; tests/widgets/test_sphere_window.py
checks that, and real X key events reach the window's shortcuts with the GL window
focused (session 3 checked this with XTEST under Xvfb).
"""

from __future__ import annotations

import statistics
import time

from OpenGL import GL
from PySide6.QtCore import Qt
from PySide6.QtGui import QSurfaceFormat
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget


def _clear() -> None:
    GL.glClearColor(0.1, 0.2, 0.3, 1)
    GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)


class _Widget(QOpenGLWidget):
    def paintGL(self):
        _clear()


class _Window(QOpenGLWindow):
    def __init__(self):
        super().__init__()
        self.keys = []

    def paintGL(self):
        _clear()

    def keyPressEvent(self, ev):
        self.keys.append(ev.key())
        ev.ignore()


def main() -> None:
    fmt = QSurfaceFormat()
    fmt.setSamples(0)
    fmt.setDepthBufferSize(24)
    QSurfaceFormat.setDefaultFormat(fmt)
    app = QApplication([])
    labels: list[QLabel] = []

    def host(central_view: QWidget) -> QMainWindow:
        mw = QMainWindow()
        mw.setCentralWidget(central_view)
        box = QWidget()
        lay = QVBoxLayout(box)
        labels.clear()
        for _ in range(20):
            lb = QLabel("value")
            lay.addWidget(lb)
            labels.append(lb)
        dock = QDockWidget("dock")
        dock.setWidget(box)
        mw.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        mw.resize(1980, 880)
        mw.show()
        while mw.windowHandle() is None or not mw.windowHandle().isExposed():
            app.processEvents()
        for _ in range(30):
            app.processEvents()
        return mw

    def frame_ms(view, n: int = 80) -> float:
        times = []
        for i in range(n):
            for lb in labels:
                lb.setText(f"value {i} " * 8)
            swapped = [False]
            slot = lambda: swapped.__setitem__(0, True)  # noqa: E731
            view.frameSwapped.connect(slot)
            t = time.perf_counter()
            view.update()
            while not swapped[0]:
                app.processEvents()
            times.append(time.perf_counter() - t)
            view.frameSwapped.disconnect(slot)
        return 1000 * statistics.median(times[10:])

    w = _Widget()
    w.setFixedSize(1280, 800)
    mw = host(w)
    widget_ms = frame_ms(w)
    mw.close()
    win = _Window()
    container = QWidget.createWindowContainer(win)
    container.setFixedSize(1280, 800)
    container.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    mw2 = host(container)
    window_ms = frame_ms(win)
    print(f"empty frame at 1280x800 in a 1980x880 window: QOpenGLWidget {widget_ms:.1f} ms, "
          f"QOpenGLWindow in a container {window_ms:.1f} ms (ratio {widget_ms / window_ms:.2f})")

    mw2.close()


if __name__ == "__main__":
    main()
