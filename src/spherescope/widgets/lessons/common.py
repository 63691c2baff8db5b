"""What the lesson docks share: captions, plots in the app's theme, and lazy refresh."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem, QLabel, QWidget

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


class Plot(pg.PlotWidget):
    """A themed plot that says in a sentence why it is empty, in place of axes around
    nothing (pyqtgraph's default range, ±0.5 shown as ±400 ×0.001, reads as data)."""

    _note: QLabel | None = None
    title_text = ""

    def __init__(self, theme: PlotTheme) -> None:
        super().__init__(background=theme.background)
        self._note = QLabel(self)
        self._note.setObjectName("emptyPlotNote")
        self._note.setWordWrap(True)
        self._note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._note.setStyleSheet(f"color: {theme.axis}; background: transparent;")
        self._note.hide()

    def set_empty(self, text: str | None) -> None:
        """Show `text` instead of the plot, or the plot again (None)."""
        empty = bool(text)
        if empty:
            # The title goes with the sentence: hiding the plot item hides it too.
            head = f"<b>{html.escape(self.title_text)}</b><br><br>" if self.title_text else ""
            self._note.setText(head + html.escape(text))
            self._note.setProperty("sentence", text)
        self._note.setVisible(empty)
        self.getPlotItem().setVisible(not empty)

    def empty_text(self) -> str | None:
        if self._note is None or self._note.isHidden():
            return None
        return self._note.property("sentence")

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self._note is not None:  # pyqtgraph resizes during its own __init__
            self._note.setGeometry(self.rect().adjusted(16, 8, -16, -8))


class AspectFit(QWidget):
    """Holds an aspect-locked plot at the width its data needs: with equal axis scales a
    wide dock would otherwise widen the range (a path over 0..2.6 drawn on -3.5..6.5)."""

    def __init__(self, plot: pg.PlotWidget, parent=None) -> None:
        super().__init__(parent)
        self.plot = plot
        plot.setParent(self)
        self.aspect: float | None = None  # data width / height; None fills the box

    def set_aspect(self, aspect: float | None) -> None:
        self.aspect = aspect
        self._fit()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit()

    def _fit(self) -> None:
        if self.plot.parent() is not self:  # handed over to an export
            return
        w, h = self.width(), self.height()
        if self.aspect is None or not np.isfinite(self.aspect) or self.aspect <= 0:
            self.plot.setGeometry(0, 0, w, h)
            return
        vb = self.plot.getPlotItem().getViewBox().sceneBoundingRect()
        # What the axes, labels and title take around the data area, as laid out now.
        extra_w = max(self.plot.width() - vb.width(), 0.0) if self.plot.width() > 0 else 80.0
        extra_h = max(self.plot.height() - vb.height(), 0.0) if self.plot.height() > 0 else 60.0
        want = int(round(extra_w + max(h - extra_h, 1.0) * self.aspect))
        # Never narrower than the title and the bottom axis's label: in a short dock the
        # locked aspect asked for a sliver, and both were cut off (the first launch's
        # Token plane at 1285x800). Wider is safe: the locked aspect widens the x range.
        pw = max(min(w, want), min(w, max(160, self._text_width(extra_w))))
        self.plot.setGeometry((w - pw) // 2, 0, pw, h)


    def _text_width(self, extra_w: float) -> int:
        pi = self.plot.getPlotItem()
        title = pi.titleLabel.item.boundingRect().width() if pi.titleLabel.isVisible() else 0.0
        axis = pi.getAxis("bottom")
        label = axis.label.boundingRect().width() if axis.isVisible() and axis.labelText else 0.0
        return int(max(title, label) + extra_w + 16)  # both span the data area's column only


def plot_widget(theme: PlotTheme, title: str, left: str, bottom: str) -> Plot:
    w = Plot(theme)
    w.title_text = title
    w.setTitle(title, color=theme.title, size="9pt")
    for side, text in (("left", left), ("bottom", bottom)):
        axis = w.getPlotItem().getAxis(side)
        axis.setPen(pg.mkPen(theme.axis))
        axis.setTextPen(pg.mkPen(theme.axis))
        w.setLabel(side, text, color=theme.axis)
    w.showGrid(x=True, y=True, alpha=theme.grid_alpha)
    # pyqtgraph draws the grid with the axes, so any change inside the plot (the layer
    # cursor moving) replayed both axes' whole pictures, each costly under software
    # rendering, and most of a layer step. Cached as pixmaps, they are redrawn only
    # when the axes themselves change.
    for axis in ("left", "bottom"):
        w.getPlotItem().getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    w.setMinimumHeight(140)
    return w


class CrispImage(pg.ImageItem):
    """An image drawn cell by cell: a heatmap's cells stay sharp squares when the figure
    is scaled up for an export (Qt would otherwise smooth them into a blur)."""

    def paint(self, p, *args):
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        super().paint(p, *args)


def recovery_heatmap(plot: pg.PlotWidget, theme: PlotTheme, **image) -> tuple["CrispImage", pg.ColorBarItem]:
    """A patching heatmap in `plot`: recovery from −1 (blue) through 0 (white) to 1 (red),
    with its colour bar; every patching grid (residual, heads, a set's pairs) draws so."""
    heat = CrispImage(**image)
    heat.setColorMap(pg.colormap.get("CET-D1"))  # diverging: blue below 0, white 0, red 1
    heat.setLevels((-1.0, 1.0))
    plot.addItem(heat)
    bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("CET-D1"), interactive=False, width=12)
    bar.setImageItem(heat, insert_in=plot.getPlotItem())
    bar.axis.setTextPen(pg.mkPen(theme.axis))
    bar.axis.setPen(pg.mkPen(theme.axis))
    return heat, bar


class LessonDock(QWidget):
    """What the window asks of every lesson dock, with do-nothing defaults, so the
    window wires each one the same way. A dock connects to the session through bound
    methods or with `owner=self`: a deleted dock is then never called (state.events)."""

    def refresh_after(self, frame_signal) -> None:
        """The 3-D view's frameSwapped: docks that redraw per layer wait for it."""

    def catch_up(self, visible: bool = True) -> None:
        """The dock's tab came to the front."""

    def sync(self) -> None:
        """Made after the session moved on (a model loaded, a prompt traced): catch up."""
        self.refresh()

    def refresh(self) -> None:
        pass


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
