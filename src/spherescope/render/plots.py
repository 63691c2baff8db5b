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


def design_size(width: int, height: int, side: int = DESIGN_SIDE) -> tuple[QSize, float]:
    scale = min(width, height) / side
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
def scaled_pens(view, scale: float):
    """Multiply every line's width and every marker's size by `scale` while inside."""
    items = []
    for plot_item in plot_items(view):
        items += list(plot_item.items) + [plot_item.getAxis(a) for a in ("left", "bottom", "top", "right")]
    saved, undo = [], []
    for plot_item in plot_items(view):
        legend = getattr(plot_item, "legend", None)
        if legend is not None:  # drawn at a fixed pixel size (it ignores the painter's scale)
            legend.setScale(scale)
            undo.append(lambda lg=legend: lg.setScale(1.0))
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


@contextmanager
def titled(view, lines: list[tuple[str, bool]], color: str, headline_px: float = 13.3, width: float | None = None):
    """The annotations' lines above the figure's own title, while inside. `view` is a
    PlotWidget (one plot) or a GraphicsLayoutWidget (the title spans the plots). A bold
    line is a headline (`headline_px`), the rest 10 pt; lines wrap at `width` (the
    layout's width) rather than run off the picture's edge."""
    if not lines:
        yield
        return
    html = "<br>".join(f"<span style='font-size:{headline_px:.1f}px'><b>{_escape(t)}</b></span>" if bold
                       else _escape(t) for t, bold in lines)
    if isinstance(view, pg.PlotWidget):
        item = view.getPlotItem()
        old = item.titleLabel.text if item.titleLabel.isVisible() else ""
        own = f"<br><span style='font-size:9pt'>{old}</span>" if old else ""
        item.setTitle(html + own, color=color, size="10pt")
        _wrap(item.titleLabel, width)
        # PlotItem keeps its title row at a fixed 30 px: room for the extra lines.
        item.layout.setRowFixedHeight(0, item.titleLabel.item.boundingRect().height() + 6)
        try:
            yield
        finally:
            _wrap(item.titleLabel, None)
            item.setTitle(old or None, color=color, size="9pt")
        return
    label = view.title_label  # made by `composite`, the row above the plots
    label.setText(html, color=color, size="10pt")
    _wrap(label, width)
    try:
        yield
    finally:
        _wrap(label, None)
        label.setText("", size="2pt")


def _wrap(label, width: float | None) -> None:
    """Word-wrap a LabelItem's text at `width` layout pixels (None: one line each) and
    make its row as tall as the wrapped text."""
    label.item.setTextWidth(-1 if width is None else max(width, 50.0))
    if width is not None:
        option = label.item.document().defaultTextOption()
        option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        label.item.document().setDefaultTextOption(option)
    label.updateMin()
    label.resizeEvent(None)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def prepare(view, width: int, height: int, side: int = DESIGN_SIDE) -> float:
    """Lay `view` out at the design size for a width x height picture; returns the scale."""
    if not (16 <= width <= 16384 and 16 <= height <= 16384):
        raise ValueError(f"image size must be between 16 and 16384 pixels a side, not {width}x{height}")
    size, scale = design_size(width, height, side)
    if not view.isVisible() and view.parentWidget() is None:
        # A figure made only to be rendered: laid out like a window that is never on screen.
        view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        view.show()
    view.resize(size)
    _settle(view)
    # Several plots side by side on a slide can need more room than the slide's layout
    # gives (three plots' titles and axes at 1/3 of 600 px): the rest would be cut off
    # at the picture's edge. Lay it out larger then, everything a little smaller.
    need = _min_size(view)
    if need.width() > size.width() or need.height() > size.height():
        grow = max(need.width() / size.width(), need.height() / size.height()) * 1.02
        size, scale = design_size(width, height, max(1, round(side * grow)))
        view.resize(size)
        _settle(view)
    return scale


def _min_size(view):
    """The smallest size the figure's layout can take without overlapping or cutting."""
    layout = getattr(view, "ci", None)
    if layout is None:
        return QSize(0, 0)
    hint = layout.effectiveSizeHint(Qt.SizeHint.MinimumSize)
    return QSize(int(hint.width() + 0.5), int(hint.height() + 0.5))


def plot_image(plot, width: int, height: int, background: QColor | None = None, side: int = DESIGN_SIDE) -> QImage:
    """The figure (a PlotWidget or GraphicsLayoutWidget) at width x height pixels,
    antialiased, laid out with its shorter side `side` pixels. `background` None:
    transparent."""
    old = plot.size()
    scale = prepare(plot, width, height, side)
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


def composite(background: str, rows: list[list], widths: list[int] | None = None) -> pg.GraphicsLayoutWidget:
    """Several plot items as one figure: `rows` of PlotItems (or None to leave a cell
    empty), under a title row the annotations can fill. `widths`: column stretch."""
    view = pg.GraphicsLayoutWidget()
    view.setBackground(background)
    ncols = max(len(r) for r in rows)
    view.title_label = view.ci.addLabel("", row=0, col=0, colspan=ncols, size="2pt")
    for r, row in enumerate(rows, start=1):
        for c, item in enumerate(row):
            if item is not None:
                if item.scene() is not None:
                    item.scene().removeItem(item)
                view.ci.addItem(item, row=r, col=c)
    for c, stretch in enumerate(widths or []):
        view.ci.layout.setColumnStretchFactor(c, stretch)
    return view


def plot_items(view) -> list:
    if isinstance(view, pg.PlotWidget):
        return [view.getPlotItem()]
    return [i for i in view.ci.items if isinstance(i, pg.PlotItem)]


def _settle(widget) -> None:
    """Let a resized widget lay itself out (axes, labels) before it is drawn."""
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    for item in plot_items(widget):
        item.updateGeometry()


def plot_svg(plot, width: int, height: int, background: QColor | None = None, title: str = "spherescope",
             side: int = DESIGN_SIDE) -> bytes:
    """The figure as SVG at width x height, drawn like `plot_image` (same layout, same
    scaled pens), with strokes every SVG reader draws alike (render.svg)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect
    from PySide6.QtSvg import QSvgGenerator

    from spherescope.render.svg import bake_cosmetic_strokes

    old = plot.size()
    scale = prepare(plot, width, height, side)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(QSize(width, height))
    gen.setViewBox(QRect(0, 0, width, height))
    gen.setTitle(title)
    gen.setDescription("Exported from spherescope")
    gen.setResolution(96)  # as the PNG is drawn, so a 9 pt label has the same size in both
    was_bg = plot.backgroundBrush()
    plot.setBackground(None)
    items = [i for i in plot.scene().items() if hasattr(i, "setExportMode")]
    with scaled_pens(plot, scale):
        painter = QPainter(gen)
        try:
            # pyqtgraph's export mode: markers drawn as shapes, not cut from a pixmap
            # atlas (which an SVG cannot crop).
            for item in items:
                item.setExportMode(True, {"antialias": True, "background": background, "painter": painter,
                                          "resolutionScale": 1.0})  # sizes are already scaled
            if background is not None:
                painter.fillRect(QRectF(0, 0, width, height), background)
            plot.scene().render(painter, QRectF(0, 0, width, height), plot.mapToScene(plot.viewport().rect()).boundingRect())
        finally:
            for item in items:
                item.setExportMode(False)
            painter.end()
    plot.setBackgroundBrush(was_bg)
    plot.resize(old)
    buf.close()
    return bake_cosmetic_strokes(bytes(data.data()))
