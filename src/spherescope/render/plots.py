"""The 2-D lesson plots as pictures at any size: the plot alone, no UI controls.

A plot is laid out at a design size (its shorter side DESIGN_SIDE pixels, the shape of
the requested picture) and rendered scaled up to the requested size, so a 4K picture
looks like the 1080p one with four times the pixels: text grows with the painter's
scale, and the pen widths (cosmetic, in device pixels, which a painter's scale leaves
alone) are scaled along for the duration of the render.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

DESIGN_SIDE = 540  # logical pixels on the shorter side; 1080p renders at twice this


def design_size(width: int, height: int) -> tuple[QSize, float]:
    scale = min(width, height) / DESIGN_SIDE
    return QSize(max(1, round(width / scale)), max(1, round(height / scale))), scale


def _pens(item):
    """(getter, setter) pairs for the pens an item draws with."""
    out = []
    if isinstance(item, pg.PlotDataItem):
        pen = item.opts.get("pen")
        if pen is not None:
            out.append((lambda it=item: it.opts["pen"], lambda p, it=item: it.setPen(p)))
        spen = item.opts.get("symbolPen")
        if spen is not None:
            out.append((lambda it=item: it.opts["symbolPen"], lambda p, it=item: it.setSymbolPen(p)))
    elif isinstance(item, pg.InfiniteLine):
        out.append((lambda it=item: it.pen, lambda p, it=item: it.setPen(p)))
    elif isinstance(item, pg.AxisItem):
        out.append((lambda it=item: it.pen(), lambda p, it=item: it.setPen(p)))
    return out


def _sizes(item, scale: float):
    """Scale what is drawn at a fixed pixel size (markers, arrowheads); returns the undo."""
    if isinstance(item, pg.ScatterPlotItem):
        old = item.data["size"].copy()
        if not len(old):
            return None
        default = item.opts["size"]  # a size of -1 means "the item's default size"
        item.setSize(np.where(old < 0, default, old) * scale)
        return lambda: item.setSize(old)
    if isinstance(item, pg.ArrowItem):
        old = dict(item.opts)
        item.setStyle(headLen=old["headLen"] * scale, tailLen=(old.get("tailLen") or 0) * scale or None)
        return lambda: item.setStyle(headLen=old["headLen"], tailLen=old.get("tailLen"))
    if isinstance(item, pg.PlotDataItem) and item.opts.get("symbol") is not None:
        old = item.opts["symbolSize"]
        item.setSymbolSize(old * scale)
        return lambda: item.setSymbolSize(old)
    return None


@contextmanager
def scaled_pens(plot: pg.PlotWidget, scale: float):
    """Multiply every line's width by `scale` while inside, then restore it."""
    items = list(plot.getPlotItem().items) + [plot.getPlotItem().getAxis(a) for a in ("left", "bottom", "top", "right")]
    saved, undo = [], []
    for item in items:
        restore = _sizes(item, scale)
        if restore is not None:
            undo.append(restore)
        for get, set_ in _pens(item):
            pen = get()
            if pen is None:
                continue
            pen = QPen(pg.mkPen(pen))
            saved.append((set_, QPen(pen)))
            pen.setWidthF(max(pen.widthF(), 1.0) * scale)
            set_(pen)
    try:
        yield
    finally:
        for set_, pen in reversed(saved):
            set_(pen)
        for restore in undo:
            restore()


def plot_image(plot: pg.PlotWidget, width: int, height: int, background: QColor | None = None) -> QImage:
    """The plot at width x height pixels, antialiased. `background` None: transparent."""
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise ValueError(f"image size must be between 16 and 16384 pixels a side, not {width}x{height}")
    size, scale = design_size(width, height)
    old = plot.size()
    if not plot.isVisible() and plot.parentWidget() is None:
        # A plot made only to be rendered: laid out like a window that is never on screen.
        plot.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        plot.show()
    plot.resize(size)
    _settle(plot)
    img = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(background if background is not None else Qt.GlobalColor.transparent)
    scene = plot.scene()
    was_bg = plot.backgroundBrush()
    plot.setBackground(None)  # the picture's own fill is the background
    with scaled_pens(plot, scale):
        painter = QPainter(img)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
                               | QPainter.RenderHint.SmoothPixmapTransform)
        try:
            scene.render(painter, QRectF(0, 0, width, height), plot.mapToScene(plot.viewport().rect()).boundingRect())
        finally:
            painter.end()
    plot.setBackgroundBrush(was_bg)
    plot.resize(old)
    return img


def _settle(widget) -> None:
    """Let a resized widget lay itself out (axes, labels) before it is drawn."""
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    widget.getPlotItem().updateGeometry()
