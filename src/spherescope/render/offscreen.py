"""Exporting the 3-D view: rendering off-screen at exactly the asked size, with point
sizes, line widths and fonts scaled to it. A mixin of SphereScene."""

from __future__ import annotations

import numpy as np
from OpenGL import GL
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtOpenGL import QOpenGLFramebufferObject

from spherescope.render.gl_setup import framebuffer

REFERENCE_HEIGHT = 800  # exports scale point sizes, line widths and fonts relative to this


class OffscreenRendering:
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
        img, mvp = self._render_pixels(width, height, transparent, antialias, scale)
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

    def _render_pixels(self, width: int, height: int, transparent: bool, antialias: bool, scale: float):
        """The scene's items (not its labels) drawn into an off-screen buffer at exactly
        width x height; returns the image and the camera's matrix for the labels."""
        self.makeCurrent()
        fbo = resolve = None
        saved = self._scaled(scale)
        bg = self.opts["bgcolor"]
        if transparent:
            self.opts["bgcolor"] = (0.0, 0.0, 0.0, 0.0)
        try:
            fbo = framebuffer(width, height, 4 if antialias else 0)
            fbo.bind()
            GL.glViewport(0, 0, width, height)
            self._draw([i for i in self.items if i is not self.labels and i not in self._chunks
                        and i not in self._warm_items], (0, 0, width, height), clear=True)
            mvp = self.currentProjection() * self.currentModelView()
            GL.glFinish()
            fbo.release()
            if fbo.format().samples() > 0:
                resolve = framebuffer(width, height, 0)
                QOpenGLFramebufferObject.blitFramebuffer(resolve, fbo)
                img = resolve.toImage(True)
            else:
                img = fbo.toImage(True)
            return img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied), mvp
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
