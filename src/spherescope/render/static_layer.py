"""Painting the 3-D view with a cached static layer: the sphere, graticule and cloud (most
of a frame under software OpenGL), and a prompt set's paths, are drawn once into an
off-screen buffer and reused while only the trajectory, marker, dots and labels change.
A mixin of SphereScene."""

from __future__ import annotations

from OpenGL import GL
from PySide6.QtOpenGL import QOpenGLFramebufferObject, QOpenGLFramebufferObjectFormat

# Level of detail on screen. While the camera moves, the cloud is drawn from a stable
# stratified subset of at most CLOUD_MOVING points (every k-th token by id: every
# frequency rank is represented); when it stops, the whole cloud is drawn once into the
# cached static layer, at most CLOUD_PER_FRAME points a frame, so that a 262k-token
# vocabulary never holds the GUI thread for a whole cloud. Exports always draw it all.
CLOUD_MOVING = 16_000
CLOUD_PER_FRAME = 16_000
SETTLE_MS = 150  # the camera counts as still this long after its last move
WARM_GAP_MS = 20  # between the warm-up frames


class StaticLayerPainting:
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
            # of it to the screen converts no pixel format (a third cheaper under
            # software OpenGL).
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
        key = (self._static_version, w, h, cam, tuple(self.opts["bgcolor"]))
        if self._warming and self._paint_warming(region, w, h, key):
            return
        dynamic = [i for i in self.items if i not in self._static_items and i not in self._chunks
                   and i not in self._warm_items and i not in self._layer_items and i.parentItem() is None]
        cloud = self._chunks[:getattr(self, "_n_chunks", 0)] if self.cloud.visible() else []
        if moving and self._cache_key != key:
            self._paint_moving(region, w, h, cloud, dynamic)
            return
        self._paint_cached(region, w, h, key, cloud, dynamic)
        if self._warming:
            self._warm_up(region)

    def _paint_warming(self, region, w: int, h: int, key) -> bool:
        """The warm-up's first frames; True when this frame was one of them."""
        if self._warming[0] in ("shapes", "cache", "blit") and not self._warm_turn:
            # Until the cached layer has been drawn and copied once, only the warm-up's
            # own frames (a timer apart) compile; any other paint (the first, the layout
            # settling as the window is built) draws straight to the screen with the
            # kinds already compiled. The first two frames, both compiling in one turn of
            # the event loop, were one long pause. The very first frame is the
            # background alone: it comes in the same turn as the surface's creation and
            # the window's first composition, and the sphere's and the lines' first
            # drawing with it made one pause of the two (benchmarks/bench_gui.py).
            first = not getattr(self, "_painted", False)
            self._painted = True
            self._draw([] if self._warming[0] == "shapes" else self._direct_items(), region, clear=True)
            if first:
                self._next_frame()  # the warm-up goes on in the next frames
            return True
        self._warm_turn = False
        if self._warming[0] == "shapes":
            self._draw(self._direct_items(), region, clear=True)
        elif self._warming[0] == "cache":
            # The static layer's first drawing into its buffer (its own compile, for the
            # buffer's format) in one frame, the copy to the screen (the blit's) in the next.
            self._build_cache(region, w, h, key)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.defaultFramebufferObject())
            GL.glViewport(0, 0, w, h)
            self._draw(self._direct_items(), region, clear=True)
        else:
            return False
        self._warming.pop(0)
        self._next_frame()
        return True

    def _paint_moving(self, region, w: int, h: int, cloud: list, dynamic: list) -> None:
        self._blit(self._shell_layer(region, w, h), self.defaultFramebufferObject(), w, h)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
        self._draw([self.graticule], region, clear=False)
        self._draw(cloud[:1], region, clear=False, force=True)
        if self.bundle.lines.visible():  # the set's paths, a subset of them as the cloud
            self._draw([self.bundle.sample], region, clear=False, force=True)
        self._draw([self.bundle.median, *dynamic], region, clear=False)
        self._settle.start()  # the whole cloud once the camera rests

    def _paint_cached(self, region, w: int, h: int, key, cloud: list, dynamic: list) -> None:
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
        if self._cache_done >= len(cloud) and not self._layer_done:
            # Over the whole cloud, as when every item was drawn each frame.
            self._cache.bind()
            GL.glViewport(0, 0, w, h)
            self._draw(self._layer_items, region, clear=False)
            self._layer_done = True
        self._blit(self._cache, self.defaultFramebufferObject(), w, h)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_DEPTH_BUFFER_BIT)
        self._draw(dynamic if self._layer_done else [*self._layer_items, *dynamic], region, clear=False)

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
            self._cache_key, self._cache_done, self._layer_done = key, 0, False

