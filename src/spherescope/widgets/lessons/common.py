"""What the lesson docks share: captions, plots in the app's theme, and lazy refresh."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGraphicsItem, QLabel

from spherescope.core.text import visible
from spherescope.render.styles import DARK_PLOT as THEME
from spherescope.render.styles import PlotTheme

pg.setConfigOptions(antialias=True)
FRAME_WAIT_MS = 40  # the longest a visible dock waits for the 3-D view's frame before redrawing
DOCK_INTERVAL_MS = 50  # a dock redraws for a new layer at most this often (20 a second) while scrubbing


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
    step costs only what is on screen. In the window, a visible dock redraws for a new
    layer after the 3-D view's next frame (`request_frame_refresh`, once `refresh_after`
    wired the view): a layer step puts the sphere on screen first, and several steps
    within one frame (a fast scrub) cost one redraw. Other changes redraw at once."""

    _dirty = True
    _frame = None  # the view's frameSwapped signal, when the window wires it
    _pending = False

    def refresh_after(self, frame_signal) -> None:
        self._frame = frame_signal
        # Queued: the redraw runs on the next turn of the event loop, after the swap.
        frame_signal.connect(self._after_frame, Qt.ConnectionType.QueuedConnection)

    def _on_screen(self) -> bool:
        # visibleRegion, not isVisible: a dock behind another tab can still count as visible.
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def request_refresh(self, *_):
        if self._on_screen():
            self._pending = False
            self._dirty = False
            self.refresh()
        else:
            self._dirty = True

    def request_frame_refresh(self, *_):
        if not self._on_screen():
            self._dirty = True
        elif self._frame is None:
            self.request_refresh()
        else:
            self._pending = True
            self._wait_for_frame()

    def after_frame(self, key: str, fn) -> None:
        """Run `fn` after the view's next frame (at once without a view); a later call
        with the same key replaces an earlier one still waiting."""
        if self._frame is None:
            fn()
            return
        if self.__dict__.get("_calls") is None:
            self._calls = {}
        self._calls[key] = fn
        self._wait_for_frame()

    def _wait_for_frame(self) -> None:
        if not self.__dict__.get("_waiting"):
            self._waiting = True
            # When no frame comes (the view covered or minimised), go ahead anyway.
            QTimer.singleShot(FRAME_WAIT_MS, self._after_frame)

    def _after_frame(self) -> None:
        self._waiting = False
        calls = self.__dict__.get("_calls") or {}
        self._calls = {}
        for fn in calls.values():
            fn()
        if not self._pending:
            return
        # While the slider is dragged, a dock redraws at most every DOCK_INTERVAL_MS:
        # the sphere keeps its frame rate and the dock always ends on the last layer.
        import time

        wait = DOCK_INTERVAL_MS - 1000 * (time.monotonic() - self.__dict__.get("_last_refresh", 0.0))
        if wait > 0:
            if not self.__dict__.get("_throttled"):
                self._throttled = True
                QTimer.singleShot(int(wait) + 1, self._after_throttle)
            return
        self._last_refresh = time.monotonic()
        self.request_refresh()

    def _after_throttle(self) -> None:
        self._throttled = False
        if self._pending:
            self._after_frame()

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
