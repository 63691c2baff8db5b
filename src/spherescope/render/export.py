"""Turning pictures into files: PNG and SVG bytes, atomic saves, and animation writers.

Every writer writes to a temporary file beside the target and renames it into place
only when complete; a failure or a cancel removes the temporary file, so there is
never a half-written export under the user's chosen name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint, QRect, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

from spherescope.core.atomic import WriteError, atomic_write_bytes, check_writable, replace_into, temp_beside

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ANIMATION_SUFFIXES = (".mp4", ".gif")


def image_bytes(img: QImage, fmt: str = "PNG") -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, fmt):
        raise WriteError(f"Could not encode the image as {fmt}.")
    buf.close()
    return bytes(data.data())


def save_image(img: QImage, path: str | os.PathLike) -> Path:
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise WriteError(f"Cannot save an image as {suffix or 'a file without extension'}: use .png or .jpg.")
    fmt = "PNG" if suffix == ".png" else "JPEG"
    if fmt == "JPEG":
        img = img.convertToFormat(QImage.Format.Format_RGB32)
    return atomic_write_bytes(path, image_bytes(img, fmt))


def widget_image(widget: QWidget) -> QImage:
    """A widget as pixels, with any 3-D views inside it composited in (a plain grab
    misses text drawn over OpenGL content)."""
    from spherescope.render.sphere_view import SphereView
    from spherescope.render.sphere_window import windows_in

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    views = [widget] if isinstance(widget, SphereView) else widget.findChildren(SphereView)
    # (widget showing the pixels, the view that draws them)
    shown = [(v, v) for v in views] + [(w.container, w) for w in windows_in(widget)]
    if shown:
        painter = QPainter(img)
        ratio = img.devicePixelRatio() or 1.0
        for holder, view in shown:
            if not holder.isVisible():
                continue
            top_left = holder.mapTo(widget, holder.rect().topLeft()) if holder is not widget else holder.rect().topLeft()
            painter.drawImage(QRect(top_left, holder.size()), view.grab_image())
        painter.end()
        img.setDevicePixelRatio(ratio)
    return img


def widget_svg_bytes(widget: QWidget, title: str = "spherescope") -> bytes:
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(widget.width(), widget.height()))
    gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle(title)
    gen.setDescription("Exported from spherescope")
    painter = QPainter(gen)
    widget.render(painter, QPoint(0, 0))
    painter.end()
    buf.close()
    return bytes(data.data())


def save_widget(widget: QWidget, path: str | os.PathLike) -> Path:
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        return atomic_write_bytes(path, widget_svg_bytes(widget))
    return save_image(widget_image(widget), path)


def qimage_to_rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine())
    return arr[:, : 3 * w].reshape(h, w, 3).copy()


def gif_palette(first: np.ndarray, colors: int = 255):
    """A palette for a whole GIF: the path's colours (plasma, fully opaque and at the two
    fainter opacities nodes take, over the first frame's background) kept as entries of
    their own, and the first frame's colours (background, sphere, cloud, labels) from a
    median cut for the rest. Left to the median cut, the colour bar came out in 28 bands;
    with its own 80 entries it has 65 distinct colours across 480 px. 255 colours leave
    one index free for the transparent pixels of the delta frames."""
    import pyqtgraph as pg
    from PIL import Image

    bg = first[0, 0].astype(np.float64)
    cmap = pg.colormap.get("plasma")
    ramp = np.concatenate([bg + a * (cmap.map(np.linspace(0, 1, n), mode="float")[:, :3] * 255 - bg)
                           for a, n in ((1.0, 80), (0.6, 24), (0.3, 24))])
    ramp = np.clip(ramp, 0, 255).round().astype(np.uint8)
    rest = colors - len(ramp)
    cut = Image.fromarray(np.ascontiguousarray(first)).quantize(colors=rest, method=Image.Quantize.MEDIANCUT,
                                                                dither=Image.Dither.NONE)
    own = np.array(cut.getpalette()[: 3 * rest], np.uint8).reshape(-1, 3)
    palette = Image.new("P", (1, 1))
    palette.putpalette(np.concatenate([own, ramp]).reshape(-1).tolist())
    return palette


def animation_size_note(path: str | os.PathLike) -> str:
    """The written file's size, with advice when a GIF came out too big for a slide deck."""
    p = Path(path)
    try:
        mb = p.stat().st_size / 1e6
    except OSError:
        return ""
    note = f"{mb:.1f} MB"
    if p.suffix.lower() == ".gif" and mb > 10:
        note += (" (a GIF keeps only the pixels that change, and with an orbit every cloud point moves in every "
                 "frame: an MP4 is about half the size, and a sweep without an orbit a few MB)")
    return note


def gif_durations(n: int, fps: float) -> list[int]:
    """Each frame's duration in ms, in the GIF's 10 ms steps, so frame k starts at k/fps
    to the nearest step: one rounded duration for all (33 ms stored as 30) played a
    30 frames/s sweep 10% fast."""
    starts = [int(round(k * 100.0 / fps)) * 10 for k in range(n + 1)]
    return [max(b - a, 10) for a, b in zip(starts, starts[1:])]


class AnimationWriter:
    """Frames in, one MP4 or GIF out, or nothing at all if it is aborted."""

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], fps: float) -> None:
        self.path = check_writable(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in ANIMATION_SUFFIXES:
            raise WriteError(f"Cannot save an animation as {self.suffix or 'a file without extension'}: use .mp4 or .gif.")
        w, h = size
        if self.suffix == ".mp4" and (w % 2 or h % 2):
            raise WriteError("MP4 video needs an even width and height.")
        if not 0 < fps <= 120:
            raise WriteError("The frame rate must be between 1 and 120.")
        self.size, self.fps, self.frames = (w, h), float(fps), 0
        self.tmp = temp_beside(self.path, suffix=f".part{self.suffix}")
        _LIVE.add(self)
        self._gif_frames: list = []
        self._palette = None  # a GIF's one palette, from its first frame and the path's colours
        self._ffmpeg = None
        if self.suffix == ".mp4":
            import imageio_ffmpeg

            # macro_block_size=1: never let the encoder resize 1080 to 1088.
            self._ffmpeg = imageio_ffmpeg.write_frames(
                str(self.tmp), (w, h), fps=self.fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
                macro_block_size=1, quality=8, output_params=["-movflags", "+faststart"],
            )
            self._ffmpeg.send(None)

    def add(self, rgb: np.ndarray) -> None:
        if rgb.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"frame is {rgb.shape[1]}x{rgb.shape[0]}, expected {self.size[0]}x{self.size[1]}")
        if self._ffmpeg is not None:
            self._ffmpeg.send(np.ascontiguousarray(rgb, np.uint8).tobytes())
        else:
            from PIL import Image

            frame = Image.fromarray(np.ascontiguousarray(rgb, np.uint8))
            if self._palette is None:
                self._palette = gif_palette(rgb)
            # One palette for every frame, without dithering: per-frame palettes made
            # colours shift from frame to frame, and dither noise flickers.
            self._gif_frames.append(frame.quantize(palette=self._palette, dither=Image.Dither.NONE))
        self.frames += 1

    def finish(self) -> Path:
        try:
            if self._ffmpeg is not None:
                self._ffmpeg.close()
            else:
                first, rest = self._gif_frames[0], self._gif_frames[1:]
                # optimize: each frame after the first keeps only what changed, the rest
                # a transparent index over the frame before (disposal 1 keeps it): a
                # 1080p sweep is 1.2 MB instead of 15.7, and decodes to the same pixels.
                first.save(self.tmp, format="GIF", save_all=True, append_images=rest,
                           duration=gif_durations(len(self._gif_frames), self.fps), loop=0, optimize=True, disposal=1)
            replace_into(self.tmp, self.path)
            _LIVE.discard(self)
        except Exception as exc:
            self.abort()
            if isinstance(exc, OSError):
                raise WriteError(f"Cannot write {self.path}: {exc.strerror or exc}.") from None
            raise
        return self.path

    def abort(self) -> None:
        if self._ffmpeg is not None:
            try:
                self._ffmpeg.close()
            except Exception:
                pass
            self._ffmpeg = None
        self._gif_frames = []
        _LIVE.discard(self)
        try:
            self.tmp.unlink()
        except OSError:
            pass


# Animations being written, so that a signal (Ctrl+C, SIGTERM) deletes their partial
# files on the way out (remove_partial_files).
_LIVE: set = set()


def remove_partial_files() -> None:
    """Abort every animation still being written: its temporary file is deleted."""
    for writer in list(_LIVE):
        writer.abort()
