"""The 3-D view's warm-up: software OpenGL compiles each kind of drawing on its first use,
so the first frames use one kind each before `gl_ready` says slow work may start. A
mixin of SphereScene."""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainter

from spherescope.render.gl_setup import _SHELL, _SOLID

WARM_GAP_MS = 20  # between the warm-up frames


class WarmUp:
    def _build_warm_items(self) -> None:
        # One of each kind of point and line the scene draws, painted once each while
        # warming up (_warm_up) and never otherwise. Software OpenGL
        # compiles a drawing for each layout of its inputs, so the kinds are: one colour
        # for all, a colour per point (the cloud, markers), and a colour and size per
        # point (the path's nodes). The first real frame with per-point colours compiled
        # while torch's libraries were loading: a long pause right after the warm-up.
        zero, rgba = np.zeros((1, 3), np.float32), np.zeros((1, 4), np.float32)
        self._warm_steps = {
            "points": [gl.GLScatterPlotItem(pos=zero, size=2, color=(0, 0, 0, 0), pxMode=True, glOptions=opts)
                       for opts in (_SHELL, _SOLID)],
            "coloured points": [gl.GLScatterPlotItem(pos=zero, size=2, color=rgba, pxMode=True, glOptions=opts)
                                for opts in (_SHELL, _SOLID)],
            "sized points": [gl.GLScatterPlotItem(pos=zero, size=np.full(1, 2, np.float32), color=rgba, pxMode=True,
                                                  glOptions=_SOLID)],
            "lines": [gl.GLLinePlotItem(pos=np.zeros((2, 3), np.float32), color=color, width=2.0, antialias=True,
                                        mode="line_strip", glOptions=_SOLID)
                      for color in ((0, 0, 0, 0), np.zeros((2, 4), np.float32))],
        }
        self._warm_items = [item for items in self._warm_steps.values() for item in items]
        for item in self._warm_items:
            item.setVisible(False)
            self.addItem(item)
        self._warming = ["shapes", "cache", "blit", *self._warm_steps, "text"]
        self._warm_turn = False  # the next frame is the warm-up's own (see paintGL)
        self._warm_held = self._warm_pending = False  # see hold_warm_up
        self.gl_warm = False  # set (and gl_ready emitted) once the warm-up is done

    def _warm_up(self, region) -> None:
        """Software OpenGL compiles each kind of drawing on its first use (~50 ms each
        here, three times that while the model worker imports torch on the other core):
        the first frames use one kind each (an off-screen buffer and a blit, the kinds
        of points and lines, text), then `gl_ready` says the view will not compile
        again, so slow work can start. Drawn invisibly, over the finished frame."""
        step = self._warming.pop(0)
        if step in self._warm_steps:
            self._draw(self._warm_steps[step], region, clear=False, force=True)
        elif step == "text":
            painter = QPainter(self)
            try:
                painter.setPen(Qt.GlobalColor.transparent)
                painter.drawText(0, 10, "warm")
            finally:
                painter.end()
        if self._warming:
            self._next_frame()
        else:
            self.gl_warm = True
            self.gl_ready.emit()

    def _next_frame(self) -> None:
        # A frame later, not at once: an update asked for while painting could be
        # served within the same pass of the event loop, and the frames would add up
        # to one long pause instead of several short ones.
        QTimer.singleShot(WARM_GAP_MS, self._warm_frame)

    def _warm_frame(self) -> None:
        if self._warm_held:
            self._warm_pending = True
            return
        self._warm_turn = True
        self.update()

    def hold_warm_up(self, held: bool) -> None:
        """Hold the warm-up's frames while the window around the view is put together (a
        launch's assembly): each of its steps is followed by the widgets' repaint
        (~40 ms), and a compiling frame in the same turn of the event loop made one
        ~100 ms pause of the two."""
        self._warm_held = held
        if not held and self._warm_pending:
            self._warm_pending = False
            self._next_frame()

