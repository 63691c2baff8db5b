"""What a figure says about itself, for an audience: the prompt and the prediction, the
model, the layer, a colour bar for the layers, a key for the label colours, and how much
of the vector the view keeps.

Each annotation can be switched on or off; in the slide style they are all on by
default. They are painted over the finished 3-D picture (the sphere fills the middle
of a wide picture, so the corners are free) and as title lines above a 2-D plot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPolygonF

from spherescope.core.text import quoted
from spherescope.render.styles import Style
from spherescope.state.scene import ANNOTATIONS  # the one list, kept where scenes read it
MAX_TITLE_CHARS = 90


def default_annotations(style_name: str) -> frozenset[str]:
    """All of them for slides (a figure must explain itself to a room), none otherwise."""
    return frozenset(ANNOTATIONS) if style_name == "slide" else frozenset()


def parse_annotations(text: str | None, style_name: str) -> frozenset[str]:
    """--annotate: 'all', 'none', or a comma-separated list of ANNOTATIONS; None: the style's default."""
    if text is None:
        return default_annotations(style_name)
    t = text.strip().lower()
    if t == "all":
        return frozenset(ANNOTATIONS)
    if t in ("none", ""):
        return frozenset()
    names = [n.strip() for n in t.split(",") if n.strip()]
    unknown = [n for n in names if n not in ANNOTATIONS]
    if unknown:
        raise ValueError(f"unknown annotation {unknown[0]!r}: choose from {', '.join(ANNOTATIONS)}, all or none")
    return frozenset(names)


@dataclass(frozen=True)
class FigureFacts:
    """What the annotations state, read from the session when the picture is made."""

    prompt: str = ""
    prediction: str = ""  # "' Mary' 34%"
    model: str = ""
    layer: float = 0.0
    total: int = 0
    kept: float | None = None  # share of |h| the view keeps at this layer
    norm: float | None = None
    length_as: str = "size"
    prompt_labels: str = "labels"
    second: str = ""  # the second path, when one is drawn: what it is, its prompt and prediction
    steered: str = ""  # how the run was steered ("" : not steered)
    bundle: str = ""  # a prompt set's paths, when drawn: how many, and how often the target wins

    def title(self) -> str:
        p = " ".join(self.prompt.split())
        if len(p) > MAX_TITLE_CHARS:
            p = "…" + p[-(MAX_TITLE_CHARS - 1):]  # the end of a prompt is what predicts
        return f"“{p}” → {self.prediction}" if self.prediction else f"“{p}”"

    def layer_text(self) -> str:
        return f"Layer {int(round(self.layer))} / {self.total}"

    def kept_lines(self) -> list[str]:
        if self.kept is None:
            return []
        size = "node size" if self.length_as == "size" else "node radius"
        return [f"This view keeps {100 * self.kept:.0f}% of |h| = {self.norm:,.1f}",
                f"opacity: share of |h| kept · {size}: |h| (log scale)"]


def facts_of(session, layer: float | None = None) -> FigureFacts:
    s = session
    tr = s.trace
    prediction = f"{quoted(tr.next_token.text)} {100 * tr.next_prob:.0f}%" if tr is not None else ""
    cur = float(s.layer if layer is None else layer)
    proj = s.projected_path()
    kept = norm = None
    if proj is not None and len(proj.kept):
        i = int(min(max(round(cur), 0), len(proj.kept) - 1))
        kept, norm = float(proj.kept[i]), float(proj.lengths[i])
    return FigureFacts(
        prompt=s.prompt, prediction=prediction, model=s.model_info.name if s.model_info is not None else s.model_ref,
        layer=cur, total=s.num_layers or max(s.available_layers() - 1, 0), kept=kept, norm=norm,
        length_as=s.appearance.length_as, prompt_labels=s.appearance.prompt_labels, second=second_line(s), steered=steer_line(s),
        bundle=bundle_line(s),
    )


def bundle_line(s) -> str:
    """thin: 32 prompts of ioi.csv, the target wins in 100%; bold: their median path."""
    sets = s.sets
    if not sets.shown or not sets.traces:
        return ""
    name = sets.source.name if sets.source is not None else "a set"
    wins = [t.correct for t in sets.traces]
    acc = "" if None in wins else f", the target wins in {100 * sum(wins) / len(wins):.0f}%"
    return f"thin: {len(sets.traces)} prompts of {name}{acc}; bold: their median path"


def second_line(s, with_prompt: bool = True) -> str:
    """the second prompt “…Mary bought a drink for” → ' John' 41%, or what a patched run
    is; without the prompt's text for the window's overlay (the Compare tab shows it)."""
    tr = s.comparison.trace
    if tr is None:
        return ""
    if not with_prompt:
        what = "the second prompt" if s.comparison.label in ("", "second prompt") else s.comparison.label
        return f"{what} → {quoted(tr.next_token.text)} {100 * tr.next_prob:.0f}%"
    text = "".join(t.text for t in tr.tokens)
    text = " ".join(text.split())
    if len(text) > 40:
        text = "…" + text[-39:].split(" ", 1)[-1]  # whole words: the end is what predicts
    what = "the second prompt" if s.comparison.label in ("", "second prompt") else f"the second prompt {s.comparison.label},"
    return f"{what} “{text}” → {quoted(tr.next_token.text)} {100 * tr.next_prob:.0f}%"


def steer_line(s) -> str:
    st, vocab = s.steering.traced, s.vocab
    if st is None or vocab is None:
        return ""
    what = quoted(vocab.texts[st.toward]) + (f" − {quoted(vocab.texts[st.away])}" if st.away is not None else "")
    where = "every position" if st.position is None else f"position {st.position}"
    return f"steered: {st.alpha:+g} × unit({what}) added after block {st.layer}, at {where}"


def _font(points: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF(max(points, 1.0))
    f.setBold(bold)
    return f


def _text(painter: QPainter, x: float, y: float, text: str, font: QFont, color: tuple, plate: QColor | None,
          align_right: bool = False, dry: bool = False) -> QRectF:
    """One line with its top-left (or top-right) at (x, y) over a plate; returns its box
    (and with `dry`, only the box: the layout, for labels to keep clear of)."""
    fm = QFontMetricsF(font, painter.device())
    w, h = fm.horizontalAdvance(text), fm.height()
    box = QRectF(x - w if align_right else x, y, w, h)
    if dry:
        return box
    if plate is not None:
        pad = 0.25 * h
        painter.fillRect(box.adjusted(-pad, -0.05 * h, pad, 0.05 * h), plate)
    painter.setFont(font)
    painter.setPen(QColor(*color))
    painter.drawText(QPointF(box.left(), box.top() + fm.ascent()), text)
    return box


TITLE_SCALE = 1.7  # the headline against the style's label size (18 pt at 800 px: 40 px caps at 1080p)
SPHERE_SHARE = 0.92  # of the picture's height the sphere takes (render.figure's camera distance)


def _side_column(rect: QRectF, margin: float) -> float:
    """The width free beside the sphere for text; the whole width when there is
    hardly any (a square picture), where a line may then cross the sphere's rim."""
    free = (rect.width() - SPHERE_SHARE * rect.height()) / 2 - margin
    return free if free > 0.18 * rect.width() else rect.width() - 2 * margin


def wrap_words(text: str, fm: QFontMetricsF, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels; a word longer than the width has a line of its own."""
    lines, cur = [], ""
    for word in text.split(" "):
        trial = f"{cur} {word}" if cur else word
        if cur and fm.horizontalAdvance(trial) > width:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


def paint_sphere_annotations(painter: QPainter, rect: QRectF, facts: FigureFacts, style: Style, scale: float,
                             which: frozenset[str], dry: bool = False) -> list[QRectF]:
    """Title, model and kept fraction top-left; the layer top-right; the key bottom-left;
    the layer colour bar bottom-right. Returns the boxes they take (with `dry`, only
    that: the labels are placed around them first)."""
    boxes: list[QRectF] = []
    if not which:
        return boxes
    pts = style.export_font_size * scale
    margin = 0.9 * pts * 1.33
    bg = QColor(*style.background[:3])
    bg.setAlpha(180)
    fg, muted = style.marker_label_color, style.axis_label_color
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    y = rect.top() + margin
    x = rect.left() + margin
    if "title" in which and facts.prompt:
        # The headline is the largest text (40 px cap height at 1080p in the slide
        # style), wrapped in the column beside the sphere, which fills the picture's
        # height: on one line it ran into the layer number and over the sphere.
        font = _font(pts * TITLE_SCALE, True)
        width = _side_column(rect, margin)
        for line in wrap_words(facts.title(), QFontMetricsF(font, painter.device()), width):
            boxes.append(_text(painter, x, y, line, font, fg, bg, dry=dry))
            y = boxes[-1].bottom()
        y += 0.3 * pts
    small = _font(pts * 0.8)
    column = _side_column(rect, margin)
    if "model" in which and facts.model:
        for line in wrap_words(facts.model, QFontMetricsF(small, painter.device()), column):
            boxes.append(_text(painter, x, y, line, small, muted, bg, dry=dry))
            y = boxes[-1].bottom()
        y += 0.2 * pts
    if "kept" in which and facts.kept is not None:
        for text in facts.kept_lines():
            for line in wrap_words(text, QFontMetricsF(small, painter.device()), column):
                boxes.append(_text(painter, x, y, line, small, muted, bg, dry=dry))
                y = boxes[-1].bottom()
            y += 0.1 * pts
    if "layer" in which and facts.total:
        boxes.append(_text(painter, rect.right() - margin, rect.top() + margin, facts.layer_text(),
                           _font(pts * 1.3, True), fg, bg, align_right=True, dry=dry))
    if "key" in which:
        boxes += _paint_key(painter, rect, style, pts, margin, facts, bg, dry)
    if "colorbar" in which and facts.total:
        boxes += _paint_colorbar(painter, rect, style, pts, margin, facts, bg, dry)
    return boxes


SECOND_PATH_COLOR = (33, 145, 140)  # viridis at its middle: the second path's colour map (render.sphere_view)


def _paint_key(painter: QPainter, rect: QRectF, style: Style, pts: float, margin: float, facts: FigureFacts,
               bg: QColor, dry: bool) -> list[QRectF]:
    font = _font(pts * 0.8)
    fm = QFontMetricsF(font, painter.device())
    rows = [(style.label_color, "the lens's top tokens at this layer, with their probability")]
    if facts.prompt_labels != "hidden":
        rows.append((style.prompt_label_color, "the prompt's tokens"))
    if facts.second:
        rows.append((SECOND_PATH_COLOR, f"green to yellow: {facts.second}"))
    if facts.steered:
        rows.append((None, facts.steered))
    if facts.bundle:
        from spherescope.render.bundle_items import key_color

        rows.append((key_color(style), facts.bundle))
    rows.append((None, "' Mary' is the token with its leading space; ␣ is a space"))
    y = rect.bottom() - margin - len(rows) * fm.height() * 1.15
    x = rect.left() + margin
    dot = 0.55 * fm.height()
    boxes = []
    room = 0.68 * rect.width() - margin - 1.6 * dot  # left of the colour bar
    for color, text in rows:
        text = fm.elidedText(text, Qt.TextElideMode.ElideMiddle, room)
        if color is not None and not dry:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(*color))
            painter.drawEllipse(QRectF(x, y + (fm.height() - dot) / 2, dot, dot))
        box = _text(painter, x + 1.6 * dot, y, text, font, style.axis_label_color if color is None else color, bg, dry=dry)
        boxes.append(box.united(QRectF(x, box.top(), dot, box.height())))
        y += fm.height() * 1.15
    return boxes


def _paint_colorbar(painter: QPainter, rect: QRectF, style: Style, pts: float, margin: float, facts: FigureFacts,
                    bg: QColor, dry: bool) -> list[QRectF]:
    font = _font(pts * 0.75)
    fm = QFontMetricsF(font, painter.device())
    width = 0.26 * rect.width()
    height = 0.9 * fm.height()
    x1 = rect.right() - margin
    x0 = x1 - width
    y1 = rect.bottom() - margin - fm.height()
    y0 = y1 - height
    cmap = pg.colormap.get("plasma")
    grad = QLinearGradient(x0, 0, x1, 0)
    for t in np.linspace(0, 1, 9):
        r, g, b, _a = cmap.map(t * style.path_cmap_top, mode="byte")
        grad.setColorAt(float(t), QColor(int(r), int(g), int(b)))
    plate = QRectF(x0, y0 - 1.6 * fm.height(), width, height + 2.8 * fm.height())
    if dry:
        return [plate]
    painter.fillRect(plate.adjusted(-0.4 * fm.height(), 0, 0.4 * fm.height(), 0), bg)
    painter.fillRect(QRectF(x0, y0, width, height), grad)
    # The current layer: a pointer over the bar.
    t = facts.layer / max(facts.total, 1)
    cx = x0 + width * min(max(t, 0.0), 1.0)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(*style.marker_label_color))
    s = 0.5 * height
    painter.drawPolygon(QPolygonF([QPointF(cx - s, y0 - s * 1.2), QPointF(cx + s, y0 - s * 1.2), QPointF(cx, y0)]))
    _text(painter, x0, y1 + 0.1 * fm.height(), "layer 0", font, style.axis_label_color, None)
    _text(painter, x1, y1 + 0.1 * fm.height(), str(facts.total), font, style.axis_label_color, None, align_right=True)
    _text(painter, x0, y0 - 1.55 * fm.height(), "path colour: layer", font, style.axis_label_color, None)
    return [plate]


def plot_title_lines(facts: FigureFacts, which: frozenset[str], extra: str = "") -> list[tuple[str, bool]]:
    """The annotations a 2-D plot carries above it: (line, bold)."""
    lines = []
    if "title" in which and facts.prompt:
        lines.append((facts.title(), True))
    sub = []
    if "model" in which and facts.model:
        sub.append(facts.model)
    if "layer" in which and facts.total:
        sub.append(facts.layer_text())
    if sub:
        lines.append((" · ".join(sub), False))
    if extra and ("kept" in which or "title" in which):
        lines.append((extra, False))  # a sentence of its own (the true angle, the second prompt)
    return lines
