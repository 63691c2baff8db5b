"""What the lesson docks share: captions, plots in the app's theme, and lazy refresh."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QLabel

from spherescope.core.text import visible
from spherescope.render.styles import DARK_PLOT as THEME
from spherescope.render.styles import PlotTheme

pg.setConfigOptions(antialias=True)


def caption(text: str) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setObjectName("captionLabel")
    return lab


def plot_widget(theme: PlotTheme, title: str, left: str, bottom: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background=theme.background)
    w.setTitle(title, color=theme.title, size="9pt")
    for side, text in (("left", left), ("bottom", bottom)):
        axis = w.getPlotItem().getAxis(side)
        axis.setPen(pg.mkPen(theme.axis))
        axis.setTextPen(pg.mkPen(theme.axis))
        w.setLabel(side, text, color=theme.axis)
    w.showGrid(x=True, y=True, alpha=theme.grid_alpha)
    # pyqtgraph draws the grid with the axes, so any change inside the plot (the layer
    # cursor moving) replayed both axes' whole pictures: ~12 ms each under software
    # rendering, and most of a layer step. Cached as pixmaps, they are redrawn only
    # when the axes themselves change.
    for axis in ("left", "bottom"):
        w.getPlotItem().getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    w.setMinimumHeight(140)
    return w


class LazyRefresh:
    """Docks hidden behind a tab skip their redraws and catch up when shown, so a layer
    step costs only what is on screen."""

    _dirty = True

    def request_refresh(self, *_):
        # visibleRegion, not isVisible: a dock behind another tab can still count as visible.
        if self.isVisible() and not self.visibleRegion().isEmpty():
            self._dirty = False
            self.refresh()
        else:
            self._dirty = True

    def catch_up(self, visible: bool = True) -> None:
        """Called when the dock comes to the front (QDockWidget.visibilityChanged)."""
        if visible and self._dirty:
            self._dirty = False
            self.refresh()

    def showEvent(self, ev):
        super().showEvent(ev)
        self.catch_up()


def token_label(vocab, i: int) -> str:
    return visible(vocab.texts[int(i)], 20) if vocab is not None else str(i)
