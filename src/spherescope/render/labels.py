"""All text labels of the 3-D view, drawn with one QPainter per frame.

pyqtgraph's GLTextItem opens a QPainter per label; under software OpenGL each
begin/end costs about a fifth of a millisecond, which a layer step cannot afford
for twenty labels. This item also declutters: labels are drawn in priority order
and one that would overlap an already drawn label is skipped, and labels on the far
side of the sphere are drawn faint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyqtgraph.opengl.GLGraphicsItem import GLGraphicsItem
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMatrix4x4, QPainter, QVector3D

from spherescope.core.projection import OUT_OF_PLANE


@dataclass(frozen=True)
class Label:
    pos: tuple[float, float, float]
    text: str
    color: tuple[int, int, int, int]
    bold: bool = False


class LabelLayer(GLGraphicsItem):
    def __init__(self, font_size: int = 11) -> None:
        super().__init__()
        self.groups: dict[str, list[Label]] = {}
        self.order: list[str] = []  # group names, most important first
        # Groups whose labels are never dropped to declutter: they move aside instead
        # (and overlap only when there is no room at all). The rest give way.
        self.required: set[str] = set()
        self.font_size = font_size
        self.drawn: list[str] = []  # texts drawn in the last frame (after decluttering)
        # Screen-anchored lines in the top-left corner (the kept fraction and the legend):
        # (text, rgba 0-255, bold). Drawn first, so token labels give way to them.
        self.overlay: list[tuple[str, tuple, bool]] = []

    def set_overlay(self, lines: list[tuple[str, tuple, bool]]) -> None:
        if lines != self.overlay:
            self.overlay = list(lines)
            self.update()

    def set_group(self, name: str, labels: list[Label]) -> None:
        if name not in self.order:
            self.order.append(name)
        self.groups[name] = list(labels)
        self.update()

    def set_order(self, names: list[str], required: tuple[str, ...] = ()) -> None:
        self.order = list(names) + [n for n in self.order if n not in names]
        self.required = set(required)

    def texts(self, group: str | None = None) -> list[str]:
        if group is not None:
            return [lb.text for lb in self.groups.get(group, [])]
        return [lb.text for name in self.order for lb in self.groups.get(name, [])]

    def paint(self) -> None:
        view = self.view()
        self.setupGLState()
        rect = view.view_rect()
        painter = QPainter(view)
        try:
            self.drawn = self.draw(painter, rect, self.mvpMatrix(), 1.0)
        finally:
            painter.end()

    def draw(self, painter: QPainter, rect: QRectF, mvp: QMatrix4x4, scale: float, plates: bool = True,
             overlay: bool = True, font_size: float | None = None, obstacles: list[QRectF] = ()) -> list[str]:
        """Draw the labels for a camera (mvp) into any painter: the screen or an export.

        `scale` multiplies the font size (`font_size` points, default the on-screen
        size), so a 4K export keeps labels readable.
        """
        labels = [(lb, name in self.required, name) for name in self.order for lb in self.groups.get(name, [])]
        lines = self.overlay if overlay else []
        if not labels and not lines:
            return []
        ndc = QMatrix4x4()
        ndc.viewport(rect.left(), rect.bottom(), rect.width(), -rect.height())
        mvp = ndc * mvp
        view = self.view()
        cam = view.cameraPosition()
        eye = np.array([cam.x(), cam.y(), cam.z()], np.float64)
        eye /= max(float(np.linalg.norm(eye)), 1e-9)
        pen = _Pen(painter, (font_size or self.font_size) * scale, scale, plates, view.opts.get("bgcolor", (0, 0, 0, 1)))
        # Boxes as (left, top, right, bottom) tuples: the overlap test runs for every
        # candidate spot of every label each frame, and QRectF calls cost ~10x more.
        placed: list[tuple] = [(b.left(), b.top(), b.right(), b.bottom()) for b in obstacles]
        drawn = self._draw_overlay(pen, rect, lines, placed)
        bounds = (rect.left(), rect.top(), rect.right(), rect.bottom())
        for lb, required, group in labels:
            if not lb.text:
                continue
            anchor = mvp.map(QVector3D(*lb.pos)).toPointF()
            text, end_on = _axis_text(lb, eye) if group == "axes" else (lb.text, False)
            fm = pen.metrics[lb.bold]
            box = _place(anchor.x(), anchor.y(), fm.horizontalAdvance(text), fm.height(), fm.ascent(), 9 * scale,
                         end_on, required, bounds, placed)
            if box is None:
                continue
            pad = 3 * scale  # a gap between neighbouring labels, so two never read as one
            placed.append((box[0] - pad, box[1] - pad / 3, box[2] + pad, box[3] + pad / 3))
            behind = float(np.dot(lb.pos, eye)) < -0.15 * float(np.linalg.norm(lb.pos))
            pen.label(box, text, lb.color, lb.bold, behind, fm.ascent())
            drawn.append(lb.text)
        return drawn

    def _draw_overlay(self, pen: "_Pen", rect: QRectF, lines, placed: list[tuple]) -> list[str]:
        """The overlay's lines in the top-left corner, wrapped, so that they stay clear of
        the sphere (centred) and the labels around its top."""
        scale, drawn = pen.scale, []
        y = rect.top() + 8 * scale
        room = max(0.4 * rect.width(), 240 * scale)
        wrapped = [(part, rgba, is_bold) for text, rgba, is_bold in lines
                   for part in _wrap(text, pen.metrics[is_bold], room)]
        for text, rgba, is_bold in wrapped:
            fm = pen.metrics[is_bold]
            box = QRectF(rect.left() + 10 * scale, y, fm.horizontalAdvance(text), fm.height())
            pen.overlay_line(box, text, rgba, is_bold, fm.ascent())
            placed.append((box.left() - 4, box.top() - 1, box.right() + 4, box.bottom() + 1))
            drawn.append(text)
            y += fm.height() + 2 * scale
        return drawn


class _Pen:
    """Fonts, metrics and plates for one drawing of the labels."""

    def __init__(self, painter: QPainter, points: float, scale: float, plates: bool, bg) -> None:
        self.painter, self.scale, self.plates = painter, scale, plates
        self.normal, self.bold = QFont(), QFont()
        self.normal.setPointSizeF(points)
        self.bold.setPointSizeF(points)
        self.bold.setBold(True)
        self.metrics = {False: QFontMetricsF(self.normal, painter.device()),
                        True: QFontMetricsF(self.bold, painter.device())}
        # A translucent plate in the background colour behind each label keeps text
        # readable where it crosses the trajectory or the cloud (one fillRect each:
        # much cheaper than an outlined text path under software rendering).
        self.bg = bg if isinstance(bg, QColor) else QColor.fromRgbF(*[float(c) for c in bg[:3]])
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)

    def overlay_line(self, box: QRectF, text: str, rgba, bold: bool, ascent: float) -> None:
        if self.plates:
            plate = QColor(self.bg)
            plate.setAlphaF(0.7)
            self.painter.fillRect(box.adjusted(-4 * self.scale, -1, 4 * self.scale, 1), plate)
        self._text(QPointF(box.left(), box.top() + ascent), text, QColor(*rgba), bold)

    def label(self, box: tuple, text: str, rgba, bold: bool, behind: bool, ascent: float) -> None:
        """A token's label; one on the far side of the sphere is faded."""
        color = QColor(*rgba)
        plate = QColor(self.bg)
        plate.setAlphaF(0.62)
        if behind:
            color.setAlpha(min(color.alpha(), 80))
            plate.setAlphaF(0.25)
        if self.plates:  # not on a transparent export, where no background is known
            self.painter.fillRect(QRectF(box[0] - 2, box[1], box[2] - box[0] + 4, box[3] - box[1]), plate)
        self._text(QPointF(box[0], box[1] + ascent), text, color, bold)

    def _text(self, at: QPointF, text: str, color: QColor, bold: bool) -> None:
        self.painter.setFont(self.bold if bold else self.normal)
        self.painter.setPen(color)
        self.painter.drawText(at, text)


def _axis_text(lb: Label, eye: np.ndarray) -> tuple[str, bool]:
    """An axis pointing at the camera (or away) ends at the sphere's centre on screen: a
    label beside it read as an axis running sideways. It is marked as toward (⊙) or away
    from (⊗) the viewer, and centred under the point. Returns (text, whether end-on)."""
    d = np.asarray(lb.pos, np.float64)
    toward = float(d @ eye) / max(float(np.linalg.norm(d)), 1e-9)
    if abs(toward) <= 0.9:
        return lb.text, False
    # The long axis name, end-on, ran into the in-plane axis label beside it.
    name = "out of the plane" if lb.text == OUT_OF_PLANE else lb.text
    return f"{'⊙' if toward > 0 else '⊗'} {name} ({'toward' if toward > 0 else 'away from'} you)", True


def _place(ax: float, ay: float, w: float, h: float, asc: float, gap: float, end_on: bool, required: bool,
           bounds: tuple, placed: list[tuple]) -> tuple | None:
    """Where a w x h label for the point (ax, ay) goes: right of the anchor first (the
    token's own dot must not cover the text), then left, above, below and further out.
    A label with no free spot is dropped (None), unless it is required: then it takes
    the spot it overlaps least."""
    r_left, r_top, r_right, r_bottom = bounds
    y0 = ay - asc * 0.7
    spots = ((ax + gap, y0), (ax - gap - w, y0), (ax - w / 2, ay - gap - h), (ax - w / 2, ay + gap),
             (ax + gap, ay - gap - h), (ax + gap, ay + gap * 0.5), (ax - gap - w, ay - gap - h),
             (ax - gap - w, ay + gap * 0.5), (ax + gap, y0 - 1.2 * h), (ax + gap, y0 + 1.2 * h))
    if end_on:
        spots = ((ax - w / 2, ay + gap), (ax - w / 2, ay - gap - h), *spots)
    best = None
    for x, yy in spots:
        if x > r_right or x + w < r_left or yy > r_bottom or yy + h < r_top:
            continue
        # Keep a label near the edge whole: slide it inside rather than clip it.
        x = min(max(x, r_left + 2), r_right - w - 2)
        yy = min(max(yy, r_top + 2), r_bottom - h - 2)
        cand = (x, yy, x + w, yy + h)
        overlap = _overlap(cand, placed)
        if overlap == 0:
            return cand
        if required and (best is None or overlap < best[0]):
            best = (overlap, cand)
    return None if best is None else best[1]


def _overlap(box: tuple, placed: list[tuple]) -> float:
    """Total area `box` shares with the boxes placed so far."""
    l0, t0, r0, b0 = box
    total = 0.0
    for l1, t1, r1, b1 in placed:
        w = (r0 if r0 < r1 else r1) - (l0 if l0 > l1 else l1)
        if w > 0:
            h = (b0 if b0 < b1 else b1) - (t0 if t0 > t1 else t1)
            if h > 0:
                total += w * h
    return total


def _wrap(text: str, fm: QFontMetricsF, width: float) -> list[str]:
    """Lines of at most `width` pixels, broken between words (a word longer stays whole),
    as even as that many lines allow: a greedy wrap leaves a last word alone on a line
    ("… |h| =" / "409.3"), so the narrowest width giving no more lines is used."""
    text = text.replace(" · ", "\u00a0· ")  # a separator ends a line, never starts one
    lines = _greedy(text, fm, width)
    if len(lines) > 1:
        lo, hi = 0.0, width
        for _ in range(10):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if len(_greedy(text, fm, mid)) <= len(lines) else (mid, hi)
        lines = _greedy(text, fm, hi)
    return [line.replace("\u00a0", " ") for line in lines]


def _greedy(text: str, fm: QFontMetricsF, width: float) -> list[str]:
    out, line = [], ""
    for word in text.split(" "):
        cand = f"{line} {word}" if line else word
        if line and fm.horizontalAdvance(cand) > width:
            out.append(line)
            line = "  " + word  # continuation lines indented a little
        else:
            line = cand
    out.append(line)
    return out
