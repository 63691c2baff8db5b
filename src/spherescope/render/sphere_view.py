"""The 3-D view: unit sphere, vocabulary cloud, trajectory, current-layer marker, labels.

It takes contiguous float32 numpy arrays that are already projected (core.projection
is the one place that projects); it never sees tensors or models.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from OpenGL import GL
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
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
# Level of detail on screen. While the camera moves, the cloud is drawn from a stable
# stratified subset of at most CLOUD_MOVING points (every k-th token by id: every
# frequency rank is represented); when it stops, the whole cloud is drawn once into the
# cached static layer, at most CLOUD_PER_FRAME points a frame, so that a 262k-token
# vocabulary never holds the GUI thread for a whole cloud. Exports always draw it all.
CLOUD_MOVING = 16_000
CLOUD_PER_FRAME = 16_000
SETTLE_MS = 150  # the camera counts as still this long after its last move
WARM_GAP_MS = 20  # between the warm-up frames


_MESH = None
# The OpenGL functions a frame or an export calls. PyOpenGL looks each one up on its
# first call; a launch looks them up on its import thread (prepare_gl), because on
# the GUI thread the lookups waited for the model worker's loading of torch's
# libraries (one loader lock): 163 ms of the first frame.
GL_FUNCTIONS = (
    "glAttachShader", "glBindAttribLocation", "glBindFramebuffer", "glBlendFuncSeparate", "glBlitFramebuffer",
    "glClear", "glClearColor", "glCompileShader", "glCreateProgram", "glCreateShader", "glDeleteShader",
    "glDepthMask", "glDisable", "glDisableVertexAttribArray", "glDrawArrays", "glDrawElements", "glEnable",
    "glEnableVertexAttribArray", "glFinish", "glGetAttribLocation", "glGetProgramiv", "glGetShaderiv",
    "glGetUniformLocation", "glHint", "glLineWidth", "glLinkProgram", "glShaderSource", "glUniform1f",
    "glUniformMatrix3fv", "glUniformMatrix4fv", "glUseProgram", "glValidateProgram", "glVertexAttrib1f",
    "glVertexAttrib4f", "glVertexAttribPointer", "glViewport", "glGetString", "glGetIntegerv", "glBindBuffer",
    "glBindVertexArray", "glPointSize", "glBlendFunc", "glDepthFunc",
)


def sphere_mesh():
    """The sphere's mesh with its normals, made once (~30 ms, on the launch's import thread)."""
    global _MESH
    if _MESH is None:
        md = gl.MeshData.sphere(rows=32, cols=64, radius=1.0)
        md.vertexNormals()
        md.vertexNormals(indexed="faces")
        md.vertexes(indexed="faces")
        _MESH = md
    return _MESH


def prepare_gl() -> None:
    """What the first frame would otherwise do on the GUI thread and can be done before:
    look up the OpenGL functions, build the sphere's mesh. Needs no OpenGL context."""
    from OpenGL.GL import shaders

    sphere_mesh()
    for module, names in ((GL, GL_FUNCTIONS), (shaders, [n for n in dir(shaders) if n.startswith("gl")])):
        for name in names:
            fn = getattr(module, name, None)
            try:
                if fn is not None:
                    # Truth-testing a PyOpenGL function (plain, wrapped, or one of
                    # alternatives) looks it up, as its first call would.
                    bool(fn)
            except Exception:  # noqa: BLE001  (looked up again on first use, as before)
                pass


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
        for item in (self.sphere, self.graticule, self.cloud, self.highlights, *t.sublayer_items, *self.compare.items,
                     *t.items):
            self.addItem(item)
        self._static_items = (self.sphere, self.graticule, self.cloud)
        self._chunks: list = []  # the cloud on screen, in stride classes (set_cloud)
        self._shell: QOpenGLFramebufferObject | None = None  # the sphere alone, see paintGL
        self._shell_key = None
        self._cache_done = 0  # how many chunks the static layer holds for its key
        self._settle = QTimer()
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.update)
        # One of each kind of point and line the scene draws, painted once each while
        # warming up (SphereScene._warm_up) and never otherwise. Software OpenGL
        # compiles a drawing for each layout of its inputs, so the kinds are: one colour
        # for all, a colour per point (the cloud, markers), and a colour and size per
        # point (the path's nodes). The first real frame with per-point colours compiled
        # while torch's libraries were loading: a 183 ms pause right after the warm-up.
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

    def _draw(self, items, region, clear: bool, force: bool = False) -> None:
        """Paint `items` (the visible ones, or all of them with `force`: the cloud's
        chunks, which stay hidden so that no other path paints them)."""
        self.setProjection(region, region)
        self.setModelview()
        if clear:
            GL.glClearColor(*self.opts["bgcolor"])
            GL.glClear(GL.GL_DEPTH_BUFFER_BIT | GL.GL_COLOR_BUFFER_BIT)
        for item in sorted(items, key=lambda a: a.depthValue()):
            if force or item.visible():
                if self.default_vao.isCreated():
                    self.default_vao.bind()
                item.paint()

    def _fbo(self, w: int, h: int) -> QOpenGLFramebufferObject:
        fmt = QOpenGLFramebufferObjectFormat()
        fmt.setAttachment(QOpenGLFramebufferObject.Attachment.CombinedDepthStencil)
        fmt.setSamples(self.format().samples())
        if self.format().alphaBufferSize() <= 0:
            # Like the window (no alpha: the layer is opaque), so that each frame's copy
            # of it to the screen converts no pixel format: under software OpenGL the
            # copy took 3.5 ms instead of 5.3 ms at 1280x800.
            fmt.setInternalTextureFormat(GL.GL_RGB8)
        return QOpenGLFramebufferObject(w, h, fmt)

    def _blit(self, source: QOpenGLFramebufferObject, target: int, w: int, h: int) -> None:
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source.handle())
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
        GL.glViewport(0, 0, w, h)

    def _shell_layer(self, region, w: int, h: int) -> QOpenGLFramebufferObject:
        """The translucent sphere alone, on the background. Its look depends only on the
        camera's distance, field of view and centre, not on where it looks from (its
        shading follows the normal relative to the eye, the same all round), so orbiting
        reuses it: under software OpenGL it costs as much as the whole 49k-point cloud."""
        c = self.opts["center"]
        key = (self._static_version, w, h, self.opts["distance"], self.opts["fov"], c.x(), c.y(), c.z(),
               tuple(self.opts["bgcolor"]), self.sphere.visible())
        if self._shell is None or self._shell.width() != w or self._shell.height() != h:
            self._shell, self._shell_key = self._fbo(w, h), None
        if self._shell_key != key:
            self._shell.bind()
            GL.glViewport(0, 0, w, h)
            self._draw([self.sphere], region, clear=True)
            self._shell_key = key
        return self._shell

    def paintGL(self, *args, **kwargs):
        """The static layer (sphere, graticule, cloud: ~90% of a frame under software
        OpenGL) is drawn once into an off-screen buffer and reused while only the
        trajectory, marker and labels change. None of them writes depth, so colour is
        all that buffer holds, and the cloud can go in over several frames
        (CLOUD_PER_FRAME points each). While the camera moves: the cached sphere, the
        graticule, the moving subset of the cloud and the rest, drawn directly."""
        region = self.getViewport()
        w, h = self.deviceWidth(), self.deviceHeight()
        cam = self._camera_key()
        moving = cam != self._last_camera
        self._last_camera = cam
        dynamic = [i for i in self.items if i not in self._static_items and i not in self._chunks
                   and i not in self._warm_items and i.parentItem() is None]
        key = (self._static_version, w, h, cam, tuple(self.opts["bgcolor"]))
        default_fbo = self.defaultFramebufferObject()
        cloud = self._chunks[:getattr(self, "_n_chunks", 0)] if self.cloud.visible() else []
        if self._warming and self._warming[0] in ("shapes", "cache", "blit") and not self._warm_turn:
            # Until the cached layer has been drawn and copied once, only the warm-up's
            # own frames (a timer apart) compile; any other paint (the first, the layout
            # settling as the window is built) draws straight to the screen with the
            # kinds already compiled. The first two frames, both compiling in one turn of
            # the event loop, were one 150-190 ms pause. The very first frame is the
            # background alone: it comes in the same turn as the surface's creation and
            # the window's first composition (~55 ms), and the sphere's and the lines'
            # first drawing (~45 ms) with it made a ~100 ms pause.
            first = not getattr(self, "_painted", False)
            self._painted = True
            self._draw([] if self._warming[0] == "shapes" else self._direct_items(), region, clear=True)
            if first:
                self._next_frame()  # the warm-up goes on in the next frames
            return
        self._warm_turn = False
        if self._warming and self._warming[0] == "shapes":
            self._draw(self._direct_items(), region, clear=True)
            self._warming.pop(0)
            self._next_frame()
            return
        if self._warming and self._warming[0] == "cache":
            # The static layer's first drawing into its buffer (its own compile, for the
            # buffer's format) in one frame, the copy to the screen (the blit's) in the next.
            self._build_cache(region, w, h, key)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, default_fbo)
            GL.glViewport(0, 0, w, h)
            self._draw(self._direct_items(), region, clear=True)
            self._warming.pop(0)
            self._next_frame()
            return
        if moving and self._cache_key != key:
            shell = self._shell_layer(region, w, h)
            self._blit(shell, default_fbo, w, h)
            GL.glDepthMask(GL.GL_TRUE)
            GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
            self._draw([self.graticule], region, clear=False)
            self._draw(cloud[:1], region, clear=False, force=True)
            self._draw(dynamic, region, clear=False)
            self._settle.start()  # the whole cloud once the camera rests
            return
        self._build_cache(region, w, h, key)
        if self._cache_done < len(cloud):
            self._cache.bind()
            GL.glViewport(0, 0, w, h)
            todo, count = [], 0
            for item in cloud[self._cache_done:]:
                if todo and count + len(item.pos) > CLOUD_PER_FRAME:
                    break
                todo.append(item)
                count += len(item.pos)
            self._draw(todo, region, clear=False, force=True)
            self._cache_done += len(todo)
            if self._cache_done < len(cloud):
                self.update()  # the next slice in the next frame
        self._blit(self._cache, default_fbo, w, h)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
        self._draw(dynamic, region, clear=False)
        if self._warming:
            self._warm_up(region)

    def _direct_items(self) -> list:
        """What a frame drawn straight to the screen paints (the warm-up's frames)."""
        return [i for i in self.items if i not in self._chunks]

    def _build_cache(self, region, w: int, h: int, key) -> None:
        """The static layer's buffer, with the sphere and graticule drawn for `key`."""
        if self._cache is None or self._cache.width() != w or self._cache.height() != h:
            self._cache, self._cache_key = self._fbo(w, h), None
        if self._cache_key != key:
            # The sphere is drawn afresh here, not blitted from the moving frames' copy:
            # software OpenGL compiles a blit for each pair of buffer formats, and this
            # keeps it to one (buffer to screen).
            self._cache.bind()
            GL.glViewport(0, 0, w, h)
            self._draw([self.sphere, self.graticule], region, clear=True)
            self._cache_key, self._cache_done = key, 0

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
            self._draw([i for i in self.items if i is not self.labels and i not in self._chunks
                        and i not in self._warm_items], (0, 0, width, height), clear=True)
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
    gl_ready = Signal()  # every kind of drawing has been used once (SphereScene._warm_up)

    def __init__(self, parent=None, style: Style = DARK) -> None:
        super().__init__(style, parent=parent)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
