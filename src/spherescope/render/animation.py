"""The layer sweep as a video: one frame per layer, optionally with a slow camera orbit.

Rendering needs the GUI thread (OpenGL lives there), so the sweep advances one frame
per event-loop turn: the window keeps repainting and the Cancel button keeps working.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QTimer, Signal

from spherescope.render.export import AnimationWriter, qimage_to_rgb


class LayerSweep(QObject):
    progress = Signal(int, int)  # frames done, total
    done = Signal(str)  # path written
    failed = Signal(str)  # message
    cancelled = Signal()

    def __init__(self, view, session, path: str | os.PathLike, size: tuple[int, int], fps: float = 6.0,
                 orbit_degrees: float = 0.0) -> None:
        super().__init__()
        n = session.available_layers()
        if n == 0:
            raise ValueError("Run a prompt first: there is no trajectory to animate.")
        self.view, self.session, self.size = view, session, size
        self.total = n
        self.orbit_step = orbit_degrees / max(n - 1, 1)
        self.writer = AnimationWriter(path, size, fps)
        self.i = 0
        self._saved = (session.layer, view.camera())
        self._stopped = False

    def start(self) -> None:
        QTimer.singleShot(0, self._step)

    def run_blocking(self) -> str:
        """For the command line: no event loop needed."""
        while self.i < self.total:
            self._render_one()
        return self._finish()

    def cancel(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.writer.abort()
            self._restore()
            self.cancelled.emit()

    def _render_one(self) -> None:
        self.session.layer = self.i
        if self.orbit_step and self.i:
            self.view.orbit(self.orbit_step, 0)
        img = self.view.render_image(*self.size)
        self.writer.add(qimage_to_rgb(img))
        self.i += 1
        self.progress.emit(self.i, self.total)

    def _step(self) -> None:
        if self._stopped:
            return
        try:
            self._render_one()
        except Exception as exc:
            self._stopped = True
            self.writer.abort()
            self._restore()
            self.failed.emit(str(exc))
            return
        if self.i < self.total:
            QTimer.singleShot(0, self._step)
        else:
            try:
                path = self._finish()
            except Exception as exc:
                self.failed.emit(str(exc))
                return
            self.done.emit(path)

    def _finish(self) -> str:
        self._stopped = True
        try:
            return str(self.writer.finish())
        finally:
            self._restore()

    def _restore(self) -> None:
        layer, cam = self._saved
        self.view.set_camera(cam)
        self.session.layer = layer
