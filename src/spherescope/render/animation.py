"""The layer sweep as a video: the path revealed layer by layer, smoothly.

Frames run at a real frame rate (30 fps by default): the marker moves along the arc
between layers, the path grows behind it, the first frame is held for a moment and
the last for longer (the prediction is where the eye should rest). With an orbit the
camera turns while the path grows and ends facing the predicted token.

Rendering needs the GUI thread (OpenGL lives there), so in the window the sweep
advances one frame per event-loop turn: the window keeps repainting and Cancel works.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from spherescope.render.export import AnimationWriter, qimage_to_rgb
from spherescope.render.figure import sphere_image


@dataclass(frozen=True)
class SweepPlan:
    """The fractional layer and the camera of every frame."""

    layers: np.ndarray  # (frames,) fractional layer
    azimuth: np.ndarray
    elevation: np.ndarray


def plan_sweep(n_layers: int, fps: float, seconds_per_layer: float, hold: tuple[float, float],
               start_camera: dict, orbit_degrees: float = 0.0, face: np.ndarray | None = None) -> SweepPlan:
    """Hold layer 0, sweep to the last layer at `seconds_per_layer`, hold the last one.
    With an orbit, the camera turns by `orbit_degrees` during the sweep and ends facing
    the point `face` (a unit vector: the predicted token's direction)."""
    if not (math.isfinite(fps) and 1 <= fps <= 120):
        raise ValueError("The frame rate must be between 1 and 120.")
    if not (math.isfinite(seconds_per_layer) and 0.01 <= seconds_per_layer <= 10):
        raise ValueError("The speed must be between 0.01 and 10 seconds per layer.")
    if not math.isfinite(orbit_degrees) or abs(orbit_degrees) > 3600:
        raise ValueError("The orbit must be a finite number of degrees, at most 3600.")
    last = max(n_layers - 1, 0)
    head = max(1, round(hold[0] * fps))
    tail = max(1, round(hold[1] * fps))
    sweep = max(1, round(last * seconds_per_layer * fps)) if last else 0
    t = np.concatenate([np.zeros(head), np.linspace(0, last, sweep + 1)[1:] if sweep else [], np.full(tail, float(last))])
    az0, el0 = float(start_camera["azimuth"]), float(start_camera["elevation"])
    az, el = np.full(len(t), az0), np.full(len(t), el0)
    if orbit_degrees and sweep:
        az1, el1 = az0 + orbit_degrees, el0
        if face is not None and np.linalg.norm(face) > 1e-9:
            f = np.asarray(face, np.float64) / np.linalg.norm(face)
            target = math.degrees(math.atan2(f[1], f[0]))
            # End on the target azimuth after turning by about the asked amount.
            az1 = target + 360.0 * round((az0 + orbit_degrees - target) / 360.0)
            el1 = float(np.clip(math.degrees(math.asin(np.clip(f[2], -1, 1))), -80.0, 80.0))
        ramp = np.clip((np.arange(len(t)) - head) / max(sweep, 1), 0.0, 1.0)
        ease = 0.5 - 0.5 * np.cos(np.pi * ramp)  # starts and ends gently
        az = az0 + (az1 - az0) * ease
        el = el0 + (el1 - el0) * ease
    return SweepPlan(t.astype(np.float64), az, el)


class LayerSweep(QObject):
    progress = Signal(int, int)  # frames done, total
    done = Signal(str)  # path written
    failed = Signal(str)  # message
    cancelled = Signal()

    def __init__(self, binding, path: str | os.PathLike, size: tuple[int, int], fps: float = 30.0,
                 orbit_degrees: float = 0.0, seconds_per_layer: float = 0.25, hold: tuple[float, float] = (1.0, 2.0),
                 style_name: str | None = None, annotations: frozenset[str] = frozenset(),
                 apply_alpha: bool = False, antialias: bool = True) -> None:
        super().__init__()
        session, view = binding.s, binding.view
        n = session.available_layers()
        if n == 0:
            raise ValueError("Run a prompt first: there is no trajectory to animate.")
        self.binding, self.view, self.session, self.size = binding, view, session, size
        self.style_name = style_name or session.appearance.style
        self.annotations, self.apply_alpha, self.antialias = annotations, apply_alpha, antialias
        face = None
        if orbit_degrees and session.trace is not None:
            face = binding.token_point(session.trace.next_token.id)
        self.plan = plan_sweep(n, fps, seconds_per_layer, hold, view.camera(), orbit_degrees, face)
        self.total = len(self.plan.layers)
        self.writer = AnimationWriter(path, size, fps)
        self.i = 0
        self._saved = (session.layer, view.camera())
        self._stopped = False
        view.set_reveal(True)

    def start(self) -> None:
        QTimer.singleShot(0, self._step)

    def run_blocking(self) -> str:
        """For the command line: no event loop needed."""
        try:
            while self.i < self.total:
                self._render_one()
        except BaseException:
            self._stopped = True
            self.writer.abort()
            self._restore()
            raise
        return self._finish()

    def cancel(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.writer.abort()
            self._restore()
            self.cancelled.emit()

    def _render_one(self) -> None:
        t = float(self.plan.layers[self.i])
        layer = int(round(t))
        if self.session.layer != layer:
            self.session.layer = layer  # labels and lens of the nearest layer
        cam = dict(self.view.camera(), azimuth=float(self.plan.azimuth[self.i]), elevation=float(self.plan.elevation[self.i]))
        self.view.set_camera(cam)
        self.view.set_current(t)
        img = sphere_image(self.binding, *self.size, style_name=self.style_name, annotations=self.annotations,
                           apply_alpha=self.apply_alpha, antialias=self.antialias, layer=t)
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
        self.view.set_reveal(False)
        self.view.set_camera(cam)
        self.session.layer = layer
        self.view.set_current(self.session.layer)
