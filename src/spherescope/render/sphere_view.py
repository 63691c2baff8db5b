"""The 3-D view: unit sphere, vocabulary cloud, trajectory, current-layer marker, labels.

It takes contiguous float32 numpy arrays that are already projected (core.projection
is the one place that projects); it never sees tensors or models.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from OpenGL import GL
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPainter
from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat

from spherescope.render.labels import Label, LabelLayer
from spherescope.render.shapes import graticule
from spherescope.render.trajectory_items import TrajectoryItems
from spherescope.render.styles import DARK, STYLES, Style  # noqa: F401  (STYLES: the styles a view can take)

# The keys that step through layers and play, wherever the focus is (the 3-D view
# passes them on; the main window maps them to the layer controls).
LABEL_GROUPS = ("marker", "axes", "lens", "plane", "highlight", "prompt")  # drawing priority, highest first
LAYER_KEYS = {Qt.Key.Key_Left: "previous", Qt.Key.Key_Right: "next", Qt.Key.Key_Space: "play"}
# The sphere and its graticule are drawn without writing depth: they tint what lies
# behind them instead of hiding it, and points sitting exactly on the surface are
# not cut in half by it. Everything else must switch depth writes back on.
_SHELL = {GL.GL_DEPTH_TEST: True, GL.GL_BLEND: True, GL.GL_CULL_FACE: False, "glDepthMask": (GL.GL_FALSE,),
          "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)}
_SOLID = {GL.GL_DEPTH_TEST: True, GL.GL_BLEND: True, GL.GL_CULL_FACE: False, "glDepthMask": (GL.GL_TRUE,),
          "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)}


REFERENCE_HEIGHT = 800  # exports scale point sizes, line widths and fonts relative to this


class SphereScene:
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
        md = gl.MeshData.sphere(rows=32, cols=64, radius=1.0)
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
        for item in (self.sphere, self.graticule, self.cloud, self.highlights, *t.sublayer_items, *self.compare.items,
                     *t.items):
            self.addItem(item)
        self._static_items = (self.sphere, self.graticule, self.cloud)
        self.labels = LabelLayer(s.font_size)
        # Priority: the marker, the axes, the lens's top tokens and the plane's tokens are
        # never dropped; a highlighted token and the prompt's tokens give way to them.
        self.labels.set_order(list(LABEL_GROUPS), required=("marker", "axes", "lens", "plane"))
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
        self._static_version += 1

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
        self._update_marker_label()

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
        return [t for g in ("lens", "plane", "highlight", "prompt") for t in self.labels.texts(g)]

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

    # ---- painting with a cached static layer ----
    def _camera_key(self) -> tuple:
        c = self.opts["center"]
        return (self.opts["distance"], self.opts["elevation"], self.opts["azimuth"], self.opts["fov"], c.x(), c.y(), c.z())

    def _draw(self, items, region, clear: bool) -> None:
        self.setProjection(region, region)
        self.setModelview()
        if clear:
            GL.glClearColor(*self.opts["bgcolor"])
            GL.glClear(GL.GL_DEPTH_BUFFER_BIT | GL.GL_COLOR_BUFFER_BIT)
        for item in sorted(items, key=lambda a: a.depthValue()):
            if item.visible():
                if self.default_vao.isCreated():
                    self.default_vao.bind()
                item.paint()

    def paintGL(self, *args, **kwargs):
        """Draw the sphere, graticule and 49k-point cloud once into an off-screen buffer
        (none of them writes depth, so colour is all it holds) and reuse it while only the trajectory, marker and labels
        change: under software OpenGL that static layer is ~90% of a frame, so a layer
        step would otherwise cost a full redraw. While the camera moves, draw directly."""
        region = self.getViewport()
        w, h = self.deviceWidth(), self.deviceHeight()
        cam = self._camera_key()
        moving = cam != self._last_camera
        self._last_camera = cam
        dynamic = [i for i in self.items if i not in self._static_items and i.parentItem() is None]
        key = (self._static_version, w, h, cam, tuple(self.opts["bgcolor"]))
        default_fbo = self.defaultFramebufferObject()
        if moving and self._cache_key != key:
            self._draw(self.items, region, clear=True)
            return
        if self._cache is None or self._cache.width() != w or self._cache.height() != h:
            fmt = QOpenGLFramebufferObjectFormat()
            fmt.setAttachment(QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
            fmt.setSamples(self.format().samples())
            self._cache = QOpenGLFramebufferObject(w, h, fmt)
            self._cache_key = None
        if self._cache_key != key:
            self._cache.bind()
            GL.glViewport(0, 0, w, h)
            self._draw(self._static_items, region, clear=True)
            self._cache_key = key
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._cache.handle())
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, default_fbo)
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, default_fbo)
        GL.glViewport(0, 0, w, h)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
        self._draw(dynamic, region, clear=False)

    # ---- style ----
    def apply_style(self, style: Style) -> None:
        """Colours, sizes and fonts of everything drawn; callers re-push data that depends on it."""
        self.style = style
        self.trajectory.style = style
        self.compare.style = style
        self.setBackgroundColor(style.background)
        self.sphere.setColor(style.sphere)
        self.graticule.setData(color=style.graticule)
        self.labels.font_size = style.font_size
        self._static_version += 1
        self.update()

    # ---- pixels ----
    def grab_image(self) -> QImage:
        return self.grabFramebuffer()

    def _scaled(self, factor: float) -> list:
        """Multiply pixel sizes and line widths for an export; returns what restores them."""
        saved = []
        c = self.compare
        for item in (self.cloud, self.highlights, self.joints, self.nodes, self.marker, self.marker_core,
                     self.trajectory.mids, c.joints, c.nodes, c.marker, c.marker_core):
            size = item.size
            saved.append((item, "size", size))
            # Through setData, so an array of sizes is re-uploaded to its vertex buffer.
            item.setData(size=np.asarray(size, np.float32) * factor if isinstance(size, np.ndarray) else size * factor)
        for item in (self.path, self.vector, self.graticule, self.trajectory.writes, self.trajectory.writes_now,
                     c.path, c.vector):
            saved.append((item, "width", item.width))
            item.width = item.width * factor
        return saved

    def render_image(self, width: int, height: int, transparent: bool = False, pixel_scale: float | None = None,
                     antialias: bool = True, font_size: float | None = None, overlay: bool = True,
                     decorate=None) -> QImage:
        """Render off-screen at exactly width x height, not an upscaled screen grab.

        The framing (field of view on the smaller side) and the sizes of points, lines and
        labels depend only on the camera and the output size (relative to REFERENCE_HEIGHT
        pixels), never on the window, so the same scene always exports to the same picture.
        `pixel_scale` overrides that scaling (1.0: the sizes the screen uses); `font_size`
        the labels' points at that scale (default: the style's on-screen size).

        `antialias`: 4x multisampling (what the screen skips under software OpenGL).
        `transparent`: the buffer is cleared to (0, 0, 0, 0) and every item blends with
        premultiplied alpha, so the picture flattened onto the background colour is the
        opaque one; label plates stay, in the background colour. `decorate(painter,
        rect, scale, dry)` paints annotations over the finished picture and returns the
        boxes they take; it is first called `dry` (layout only) so that the labels keep
        clear of them.
        """
        if width < 16 or height < 16 or width > 16384 or height > 16384:
            raise ValueError(f"image size must be between 16 and 16384 pixels a side, not {width}x{height}")
        if self.context() is None:
            raise RuntimeError("the 3-D view has not been shown yet, so it has no OpenGL context to render with")
        scale = min(width, height) / REFERENCE_HEIGHT if pixel_scale is None else pixel_scale
        self.makeCurrent()
        fbo = resolve = None
        saved = self._scaled(scale)
        bg = self.opts["bgcolor"]
        if transparent:
            self.opts["bgcolor"] = (0.0, 0.0, 0.0, 0.0)
        try:
            fbo = _framebuffer(width, height, 4 if antialias else 0)
            fbo.bind()
            GL.glViewport(0, 0, width, height)
            self._draw([i for i in self.items if i is not self.labels], (0, 0, width, height), clear=True)
            mvp = self.currentProjection() * self.currentModelView()
            GL.glFinish()
            fbo.release()
            if fbo.format().samples() > 0:
                resolve = _framebuffer(width, height, 0)
                QOpenGLFramebufferObject.blitFramebuffer(resolve, fbo)
                img = resolve.toImage(True)
            else:
                img = fbo.toImage(True)
            img = img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        finally:
            if fbo is not None and fbo.isBound():
                fbo.release()
            self.opts["bgcolor"] = bg
            for item, attr, value in saved:
                if attr == "size":
                    item.setData(size=value)
                else:
                    setattr(item, attr, value)
            del fbo, resolve
            self.doneCurrent()
        painter = QPainter(img)
        try:
            rect = QRectF(0, 0, width, height)
            obstacles = decorate(painter, rect, scale, True) if decorate is not None else []
            self.labels.draw(painter, rect, mvp, scale, plates=True, overlay=overlay, font_size=font_size,
                             obstacles=obstacles)
            if decorate is not None:
                decorate(painter, rect, scale, False)
        finally:
            painter.end()
        self.update()
        return img


def _framebuffer(width: int, height: int, samples: int) -> QOpenGLFramebufferObject:
    fmt = QOpenGLFramebufferObjectFormat()
    fmt.setAttachment(QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
    fmt.setSamples(samples)
    fbo = QOpenGLFramebufferObject(width, height, fmt)
    if not fbo.isValid() and samples:
        return _framebuffer(width, height, 0)  # no multisampling here: render without it
    if not fbo.isValid():
        raise RuntimeError(f"could not create a {width}x{height} off-screen buffer")
    return fbo


class SphereView(SphereScene, gl.GLViewWidget):
    """The 3-D view as a widget: used off-screen (command-line exports) and in tests of
    the scene itself. The app's window shows a `SphereWindow`."""

    camera_changed = Signal()
    copy_requested = Signal()

    def __init__(self, parent=None, style: Style = DARK) -> None:
        super().__init__(style, parent=parent)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
