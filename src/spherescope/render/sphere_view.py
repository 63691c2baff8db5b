"""The 3-D view: unit sphere, vocabulary cloud, trajectory, current-layer marker, labels.

It takes contiguous float32 numpy arrays that are already projected (core.projection
is the one place that projects); it never sees tensors or models. This module holds
the scene (its items, camera and data); its painting with a cached static layer
(static_layer), its warm-up (warm_up) and its off-screen exports (offscreen) are
mixins beside it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtOpenGL import QOpenGLFramebufferObject

from spherescope.render.bundle_items import BundleItems
from spherescope.render.gl_setup import _SHELL, _SOLID, sphere_mesh
from spherescope.render.labels import Label, LabelLayer
from spherescope.render.offscreen import OffscreenRendering
from spherescope.render.shapes import graticule
from spherescope.render.static_layer import CLOUD_MOVING, SETTLE_MS, StaticLayerPainting
from spherescope.render.styles import DARK, STYLES, Style  # noqa: F401  (STYLES: the styles a view can take)
from spherescope.render.trajectory_items import TrajectoryItems
from spherescope.render.warm_up import WarmUp

# The keys that step through layers and play, wherever the focus is (the 3-D view
# passes them on; the main window maps them to the layer controls).
LABEL_GROUPS = ("marker", "bundle", "axes", "lens", "plane", "highlight", "head", "prompt")  # drawing priority, highest first
LAYER_KEYS = {Qt.Key.Key_Left: "previous", Qt.Key.Key_Right: "next", Qt.Key.Key_Space: "play"}


class SphereScene(StaticLayerPainting, WarmUp, OffscreenRendering):
    """The scene and its drawing, whatever hosts the OpenGL surface: `SphereView` (a
    widget, for off-screen rendering and embedding anywhere) or `SphereWindow` (the
    app's own view, a window in a container; see sphere_window.py for why). Hosts
    declare the signals `camera_changed` (after the user orbits, pans or zooms) and
    `copy_requested` (Ctrl+C with the view focused)."""

    def __init__(self, style: Style = DARK, **host) -> None:
        super().__init__(**host)
        self.style = style
        self.opts["fov"] = 40
        self._cmap = pg.colormap.get("plasma")
        self._static_version = 0  # bumped whenever a static item's data or visibility changes
        self._cache: QOpenGLFramebufferObject | None = None
        self._cache_key = None
        self._last_camera = None
        self._build()
        self.reset_view()

    # ---- construction ----
    def _build(self) -> None:
        s = self.style
        self.setBackgroundColor(s.background)
        md = sphere_mesh()
        self.sphere = gl.GLMeshItem(meshdata=md, smooth=True, color=s.sphere, shader="balloon", glOptions=_SHELL)
        self.graticule = gl.GLLinePlotItem(pos=graticule(), color=s.graticule, mode="lines", width=1.0, antialias=True, glOptions=_SHELL)
        # The cloud writes no depth either: the trajectory is the subject and is never
        # hidden by the vocabulary, and the cached static layer then needs no depth.
        self.cloud = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=s.cloud_size, color=(0, 0, 0, 0), pxMode=True, glOptions=_SHELL)
        self.highlights = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=9, color=(0, 0, 0, 0), pxMode=True, glOptions=_SOLID)
        self.trajectory = TrajectoryItems(s, _SOLID)
        t = self.trajectory
        self.path, self.joints, self.nodes, self.vector, self.marker, self.marker_core = t.items
        # A second path (another prompt, or a patched run), in another colour map.
        self.compare = TrajectoryItems(s, _SOLID, cmap="viridis")
        self.compare.marker_scale = 0.75
        # A prompt set's paths, under the prompt's own (which is the subject when both show).
        self.bundle = BundleItems(s, _SOLID)
        for item in (self.sphere, self.graticule, self.cloud, self.highlights, self.bundle.sample, *self.bundle.items,
                     *t.sublayer_items, *self.compare.items, *t.items):
            self.addItem(item)
        self._static_items = (self.sphere, self.graticule, self.cloud)
        # A set's thin paths and its median do not move with the layer (only their dots
        # do): they join the static layer once its cloud is complete (static_layer), so a
        # slider step with a thousand paths costs a step with none.
        self._layer_items = (self.bundle.lines, self.bundle.median)
        self._layer_done = False
        self._chunks: list = []  # the cloud on screen, in stride classes (set_cloud)
        self._shell: QOpenGLFramebufferObject | None = None  # the sphere alone, see paintGL
        self._shell_key = None
        self._cache_done = 0  # how many chunks the static layer holds for its key
        self._settle = QTimer()
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.update)
        self._build_warm_items()
        self.labels = LabelLayer(s.font_size)
        # Priority: the marker, the axes, the lens's top tokens and the plane's tokens are
        # never dropped; a highlighted token and the prompt's tokens give way to them.
        self.labels.set_order(list(LABEL_GROUPS), required=("marker", "bundle", "axes", "lens", "plane"))
        self.addItem(self.labels)

    # ---- camera ----
    def reset_view(self) -> None:
        self.setCameraPosition(distance=3.7, elevation=22, azimuth=12)
        self.opts["center"] = pg.Vector(0, 0, 0)
        self.update()
        self.camera_changed.emit()

    def look_down_on_plane(self) -> None:
        """The camera straight above the plane of the first two axes: the first axis
        points right, the second up (the article's figure, seen on the sphere)."""
        self.setCameraPosition(distance=3.2, elevation=90, azimuth=-90)
        self.opts["center"] = pg.Vector(0, 0, 0)
        self.update()
        self.camera_changed.emit()

    def camera(self) -> dict:
        c = self.opts["center"]
        return {"distance": float(self.opts["distance"]), "elevation": float(self.opts["elevation"]),
                "azimuth": float(self.opts["azimuth"]), "fov": float(self.opts["fov"]),
                "center": [float(c.x()), float(c.y()), float(c.z())]}

    def set_camera(self, cam: dict) -> None:
        self.setCameraPosition(distance=cam["distance"], elevation=cam["elevation"], azimuth=cam["azimuth"])
        self.opts["fov"] = cam.get("fov", self.opts["fov"])
        self.opts["center"] = pg.Vector(*cam.get("center", (0, 0, 0)))
        self.update()

    # Left/Right/Space belong to the layer controls (the window handles them);
    # pyqtgraph would otherwise orbit on Left/Right.
    PASSED_KEYS = tuple(LAYER_KEYS)

    def keyPressEvent(self, ev):
        if ev.key() in self.PASSED_KEYS:
            self.pass_key(ev)
            return
        if ev.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            ev.accept()
            return
        super().keyPressEvent(ev)

    def pass_key(self, ev) -> None:
        ev.ignore()  # a widget's parent gets an ignored key

    def view_rect(self) -> QRectF:
        return QRectF(0, 0, self.width(), self.height())

    def mouseReleaseEvent(self, ev):
        super().mouseReleaseEvent(ev)
        self.camera_changed.emit()

    def wheelEvent(self, ev):
        super().wheelEvent(ev)
        self.camera_changed.emit()

    # ---- data ----
    def set_axis_labels(self, names) -> None:
        c = self.style.axis_label_color
        self.labels.set_group("axes", [Label(tuple(np.eye(3)[i] * 1.1), text, c) for i, text in enumerate(names)])

    def set_cloud(self, points: np.ndarray, colors: np.ndarray) -> None:
        self.cloud.setData(pos=points, color=colors, size=self.style.cloud_size)
        self._set_chunks(points, colors)
        self._static_version += 1

    def _set_chunks(self, points: np.ndarray, colors: np.ndarray) -> None:
        """The on-screen cloud as stride classes: chunk j holds tokens j, j+k, j+2k, ...,
        so chunk 0 alone is the subset drawn while moving and each chunk is a sample of
        the whole vocabulary. Items are reused; none is ever drawn by exports."""
        n = len(points)
        k = max(1, -(-n // CLOUD_MOVING))
        while len(self._chunks) < k:
            item = gl.GLScatterPlotItem(pos=np.zeros((1, 3), np.float32), size=1, color=(0, 0, 0, 0), pxMode=True,
                                        glOptions=_SHELL)
            item.setVisible(False)  # painted by paintGL itself, never by the item list
            self.addItem(item)
            self._chunks.append(item)
        for j, item in enumerate(self._chunks):
            if j < k:
                item.setData(pos=np.ascontiguousarray(points[j::k]), color=np.ascontiguousarray(colors[j::k]),
                             size=self.style.cloud_size)
            else:
                item.setData(pos=np.zeros((1, 3), np.float32), color=np.zeros((1, 4), np.float32))
        self._n_chunks = k

    def set_cloud_visible(self, visible: bool) -> None:
        self.cloud.setVisible(visible)
        self._static_version += 1

    def setBackgroundColor(self, *args, **kwds):
        super().setBackgroundColor(*args, **kwds)
        self._static_version = getattr(self, "_static_version", 0) + 1

    def set_highlights(self, points: np.ndarray, colors: np.ndarray, size: float = 9.0) -> None:
        if len(points) == 0:
            points, colors = np.zeros((1, 3), np.float32), np.zeros((1, 4), np.float32)
        self.highlights.setData(pos=np.ascontiguousarray(points, np.float32), color=np.ascontiguousarray(colors, np.float32), size=size)

    def set_trajectory(self, points: np.ndarray, norms: np.ndarray, kept: np.ndarray, total_layers: int, length_as: str = "size") -> None:
        """points: (n, 3) unit directions of layers 0..n-1; norms: their full lengths."""
        self.trajectory.set_data(points, norms, kept, total_layers, length_as)
        self._update_marker_label()

    def set_current(self, layer: float) -> None:
        """The current layer; fractional between two layers in an animation."""
        self.trajectory.set_current(layer)
        self.compare.set_current(layer)
        self.bundle.set_current(layer)
        self._update_marker_label()

    def set_bundle(self, points: np.ndarray, median: np.ndarray, wrong: np.ndarray | None = None) -> None:
        """A prompt set's paths (N, L+1, 3 unit directions) and its median (L+1, 3); empty hides them."""
        self.bundle.set_data(points, median, wrong)
        self.bundle.set_current(self.trajectory.current)
        self._static_version += 1  # the lines are in the static layer
        self.update()

    def set_bundle_hovered(self, k: int) -> None:
        self.bundle.set_hovered(k)
        self.update()

    def bundle_hit(self, x: float, y: float, radius_px: float = 10.0) -> int:
        """The prompt whose dot at the current layer is nearest to (x, y) in the view's
        pixels, within `radius_px` and on the side of the sphere facing the camera; -1
        when none is."""
        dots = self.bundle.current_dots() if self.bundle.dots.visible() else np.zeros((0, 3))
        if len(dots) == 0:
            return -1
        mvp = self.screen_matrix()
        cam = self.cameraPosition()
        eye = np.array([cam.x(), cam.y(), cam.z()], np.float64)
        eye /= max(float(np.linalg.norm(eye)), 1e-9)
        m = np.array(mvp.data(), np.float64).reshape(4, 4).T  # Qt stores column-major
        clip = np.c_[dots, np.ones(len(dots))] @ m.T
        xy = clip[:, :2] / clip[:, 3:4]
        d = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        d[dots @ eye < -0.1] = np.inf  # behind the sphere
        k = int(np.argmin(d))
        return k if d[k] < radius_px else -1

    def screen_matrix(self):
        """The camera's map from scene coordinates to the view's pixels, as it stands now
        (not as of the last frame painted)."""
        from PySide6.QtGui import QMatrix4x4

        rect = self.view_rect()
        w, h = max(int(rect.width()), 1), max(int(rect.height()), 1)
        ndc = QMatrix4x4()
        ndc.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        return ndc * self.projectionMatrix((0, 0, w, h), (0, 0, w, h)) * self.viewMatrix()

    def mouseMoveEvent(self, ev):
        super().mouseMoveEvent(ev)
        if ev.buttons() == Qt.MouseButton.NoButton and self.bundle.dots.visible():
            pos = ev.position()
            k = self.bundle_hit(pos.x(), pos.y())
            if k != self.bundle.hovered:
                self.bundle_hovered.emit(k)

    def set_compare(self, points: np.ndarray, norms: np.ndarray, kept: np.ndarray, total_layers: int,
                    length_as: str = "size") -> None:
        """The second path (empty arrays hide it)."""
        self.compare.style = self.style
        self.compare.set_data(points, norms, kept, total_layers, length_as)
        self.compare.set_current(self.trajectory.current)

    def set_reveal(self, on: bool) -> None:
        """Draw the path only up to the current layer (animations), or all of it."""
        self.trajectory.set_reveal(on)
        self.compare.set_reveal(on)

    def set_marker_scale(self, scale: float) -> None:
        """The marker grows with the scale α applied in the confidence view (length is confidence)."""
        self.trajectory.marker_scale = float(np.clip(scale, 0.15, 4.0))
        self.trajectory.set_current(self.trajectory.current)

    def marker_size(self) -> float:
        return float(self.marker.size)

    def marker_position(self) -> np.ndarray | None:
        return self.trajectory.marker_position()

    def _update_marker_label(self) -> None:
        p = self.trajectory.marker_position()
        self._set_marker_label(f"L{self.trajectory.marker_layer()}" if p is not None else "", p)

    def _set_marker_label(self, text: str, pos) -> None:
        if pos is None:
            self.labels.set_group("marker", [])
            return
        p = tuple(float(x) for x in np.asarray(pos, np.float64) * 1.08)
        self.labels.set_group("marker", [Label(p, text, self.style.marker_label_color, bold=True)])

    def set_labels(self, labels: list[tuple[np.ndarray, str, tuple]], group: str = "lens") -> None:
        """labels: (unit position, text, rgba 0-255), most important first; placed just
        outside the sphere. `group`: lens, plane, highlight or prompt (LABEL_GROUPS)."""
        self.labels.set_group(group, [Label(tuple(float(x) for x in np.asarray(p) * 1.04), t, c) for p, t, c in labels])

    def label_texts(self) -> list[str]:
        """Texts of the token labels that are set (the prompt's may be decluttered on screen)."""
        return [t for g in ("lens", "plane", "highlight", "head", "prompt") for t in self.labels.texts(g)]

    def projectionMatrix(self, region, viewport):
        """pyqtgraph's frustum, with the field of view applied to the *smaller* side, so
        the sphere stays whole in wide views and wide exports alike."""
        from math import radians, tan

        from PySide6.QtGui import QMatrix4x4

        x0, y0, w, h = viewport
        dist = self.opts["distance"]
        near, far = dist * 0.001, dist * 1000.0
        r = near * tan(0.5 * radians(self.opts["fov"])) * max(1.0, w / max(h, 1))
        t = r * h / max(w, 1)
        left = r * ((region[0] - x0) * (2.0 / w) - 1)
        right = r * ((region[0] + region[2] - x0) * (2.0 / w) - 1)
        bottom = t * ((region[1] - y0) * (2.0 / h) - 1)
        top = t * ((region[1] + region[3] - y0) * (2.0 / h) - 1)
        m = QMatrix4x4()
        m.frustum(left, right, bottom, top, near, far)
        return m

    # ---- style ----
    def apply_style(self, style: Style) -> None:
        """Colours, sizes and fonts of everything drawn; callers re-push data that depends on it."""
        self.style = style
        self.trajectory.style = style
        self.compare.style = style
        self.bundle.apply_style(style)
        self.setBackgroundColor(style.background)
        self.sphere.setColor(style.sphere)
        self.graticule.setData(color=style.graticule)
        self.labels.font_size = style.font_size
        self._static_version += 1
        self.update()

class SphereView(SphereScene, gl.GLViewWidget):
    """The 3-D view as a widget: used off-screen (command-line exports) and in tests of
    the scene itself. The app's window shows a `SphereWindow`."""

    camera_changed = Signal()
    copy_requested = Signal()
    gl_ready = Signal()  # every kind of drawing has been used once (SphereScene._warm_up)
    bundle_hovered = Signal(int)  # the prompt of a set pointed at on the sphere (-1: none)

    def __init__(self, parent=None, style: Style = DARK) -> None:
        super().__init__(style, parent=parent)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # hovering a set's prompt on the sphere
