"""The app's 3-D view: the scene in a QOpenGLWindow, embedded with a window container.

Why not the QOpenGLWidget that pyqtgraph offers: a QOpenGLWidget makes Qt compose the
whole main window through OpenGL on every frame (widgets to a texture, the GL texture
on top, swap). Under software OpenGL (Mesa llvmpipe, what a VM or a machine without a
GPU has) that composition alone cost 15 ms of a 1280x800 frame in a 1980x880 window,
against 6.5 ms for a window that draws itself (benchmarks/bench_gl_floor.py), and a
layer step could not fit in a 60 Hz frame. A native child window draws straight to
its own surface, and the docks around it repaint and flush only what changed.

What a container costs, and how it is paid back here:
- keys the view does not use (the layer keys) are passed to the container, so they
  reach the main window like any ignored key of a widget;
- files dropped on the view are handed to the widget that takes drops;
- a plain grab of the window misses the GL surface; render.export.widget_image
  composites it from `grab_image`.
"""

from __future__ import annotations

import atexit

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QApplication, QWidget
from pyqtgraph.opengl.GLViewWidget import GLViewMixin

from spherescope.render.sphere_view import DARK, SphereScene, Style

_DRAG_EVENTS = {QEvent.Type.DragEnter: "dragEnterEvent", QEvent.Type.DragMove: "dragMoveEvent",
                QEvent.Type.DragLeave: "dragLeaveEvent", QEvent.Type.Drop: "dropEvent"}


class SphereWindow(SphereScene, GLViewMixin, QOpenGLWindow):
    camera_changed = Signal()
    copy_requested = Signal()
    gl_ready = Signal()  # every kind of drawing has been used once (SphereScene._warm_up)
    bundle_hovered = Signal(int)  # the prompt of a set pointed at on the sphere (-1: none)

    def __init__(self, style: Style = DARK) -> None:
        super().__init__(style)
        self.setMinimumSize(QSize(320, 240))
        self.container: QWidget | None = None  # set by embed()
        self.drop_target: QWidget | None = None

    def deviceWidth(self) -> int:
        return int(self.width() * self.devicePixelRatio())

    def deviceHeight(self) -> int:
        return int(self.height() * self.devicePixelRatio())

    def grab_image(self):
        """The view as on screen, rendered afresh (a window's back buffer is undefined
        after a swap, so it cannot simply be read back)."""
        dpr = self.devicePixelRatio()
        return self.render_image(max(16, self.deviceWidth()), max(16, self.deviceHeight()), pixel_scale=dpr,
                                 antialias=False)

    def pass_key(self, ev) -> None:
        # An embedded window's ignored keys stop at the window; send a copy to the
        # container, from where an ignored key travels up the widget tree as usual.
        if self.container is None:
            ev.ignore()
            return
        copy = QKeyEvent(ev.type(), ev.key(), ev.modifiers(), ev.text(), ev.isAutoRepeat(), ev.count())
        QApplication.sendEvent(self.container, copy)
        ev.setAccepted(copy.isAccepted())

    def keyReleaseEvent(self, ev):
        if ev.key() in self.PASSED_KEYS:
            ev.ignore()
            return
        super().keyReleaseEvent(ev)

    def event(self, ev):
        handler = _DRAG_EVENTS.get(ev.type())
        if handler is not None and self.drop_target is not None:
            getattr(self.drop_target, handler)(ev)
            return True
        return super().event(ev)


def _release_at_exit() -> None:
    """Delete the windows that hold views before PySide's own clean-up at exit.

    PySide does not know that the container owns the view, so at exit it deletes every
    Python-made object in no particular order; when it took the view before the main
    window, the container then touched the freed view and the process crashed on the
    way out (deleting the container alone crashed PySide's own pass). Deleting the
    top-level widget lets Qt take the container and then the view, in its order."""
    from shiboken6 import Shiboken

    if QGuiApplication.instance() is None:
        return
    tops = []
    for w in _embedded_views():
        top = w.container.window()
        if top not in tops:
            tops.append(top)
    for top in tops:  # the top-level widget deletes the container, which deletes the window
        if Shiboken.isValid(top):
            Shiboken.delete(top)


# atexit runs handlers last-registered first; PySide registered its clean-up when
# QtCore was imported (above), so this one runs before it.
atexit.register(_release_at_exit)


def embed(view: SphereWindow, parent: QWidget | None = None) -> QWidget:
    """The widget that holds the view in a layout; it takes the keyboard focus on click."""
    container = QWidget.createWindowContainer(view, parent)
    container.setObjectName("sphereViewContainer")
    container.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    container.setMinimumSize(320, 240)
    view.container = container
    return container


def _embedded_views():
    """Every live SphereWindow that sits in a container."""
    from shiboken6 import Shiboken

    for w in QGuiApplication.allWindows():
        if isinstance(w, SphereWindow) and w.container is not None and Shiboken.isValid(w.container):
            yield w


def windows_in(widget: QWidget) -> list[SphereWindow]:
    """The 3-D views shown inside a widget (for screenshots of it)."""
    return [w for w in _embedded_views() if w.container is widget or widget.isAncestorOf(w.container)]
