"""Every view as a figure on its own: the 3-D sphere or a lesson's plot or table, at a
chosen size and style, PNG or SVG, with annotations. The window's Export Dock,
`spherescope render --view` and the Python API all come here.

A lesson is drawn by a fresh copy of its dock, made for the export in the export's
style and bound to a detached snapshot of the session (Session.snapshot), so a dock
hidden behind another tab exports the same picture as one in front, the window on
screen is untouched, and nothing of the throwaway dock stays subscribed to the
live session after it is deleted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor

from spherescope.core.atomic import atomic_write_bytes
from spherescope.core.patching import NO_CURVE
from spherescope.core.text import quoted
from spherescope.render.annotations import facts_of, plot_title_lines, second_line
from spherescope.render.export import save_image
from spherescope.render.plots import composite, design_size, plot_image, plot_svg, titled
from spherescope.render.styles import STYLES
from spherescope.widgets.lessons import LESSONS

# `--view` names -> lesson dock keys; "sphere" is the 3-D view (render.figure).
LESSON_VIEWS = {"plane": "plane", "attribution": "attribution", "heads": "heads", "closest": "closest", "confidence": "confidence", "norms": "norms",
                "token-norms": "token_norms", "roundtrip": "roundtrip", "tied": "tied", "compare": "compare",
                "patching": "compare", "head-patching": "compare", "set": "sets"}
VIEWS = ("sphere", *LESSON_VIEWS, "steer")
NEEDS_TOKENS = ("plane",)  # views drawn in the plane of two chosen tokens (attribution: one at least)


def view_for_dock(key: str, session=None) -> str | None:
    """The --view name of a dock key (token_norms -> token-norms), None for other docks.
    The compare dock draws the patching heatmap once there is one, else its plots."""
    if key == "compare":
        return "patching" if session is not None and session.comparison.grid is not None else "compare"
    if key == "steer":
        return "steer"
    if key == "sets":
        return "set"
    return next((v for v, k in LESSON_VIEWS.items() if k == key), None)


def _extra_line(view: str, session, steer=None) -> str:
    if view == "steer" and steer is not None:
        return _steer_line(steer)
    if view in ("compare", "patching", "head-patching"):
        return second_line(session)  # the figure names the prompt it compares with
    if view == "heads" and session.heads.view is not None:
        return head_line(session)
    if view == "plane":
        plane, _ = session.plane_path()
        if plane is not None and len(plane.kept):
            i = min(max(session.layer, 0), len(plane.kept) - 1)
            first = quoted(session.vocab.texts[int(session.plane_tokens[0])])
            return (f"{plane.angle[i]:.1f}° from {first} in the plane, which keeps {100 * plane.kept[i]:.0f}% of |h|; "
                    f"h itself is {plane.true_angle[i]:.0f}° from {first} (cos {plane.cos_first[i]:.2f})")
    return ""


def head_line(session) -> str:
    """What the head reads and what its write does to the logits, in one line."""
    hv, texts, tokens = session.heads.view, session.vocab.texts, session.tokens
    reads = ", ".join(f"{quoted(tokens[p].text)} {100 * w:.0f}%" for p, w in hv.reads(2))
    lowers = ", ".join(f"{quoted(texts[i])} {v:+.2f}" for i, v in hv.lowers[:2])
    raises = ", ".join(f"{quoted(texts[i])} {v:+.2f}" for i, v in hv.says[:2])
    term = f"; term {hv.dla:+.2f}" if hv.dla is not None else ""
    return f"Block {hv.layer} head {hv.head} reads {reads}; its write raises {raises}, lowers {lowers}{term}"


def _steer_line(curve) -> str:
    """Where α = 0 and the marked α lead, so the headline's prediction and the curve's
    marked point can't be read as contradicting each other."""
    said = []
    marked = curve.current if curve.current != 0 else None  # at 0 the first clause says it
    for alpha, what in ((0.0, "α = 0 (marked)" if curve.current == 0 else "α = 0"), (marked, "the marked α = {:g}")):
        if alpha is not None and alpha in curve.alphas:
            token, prob = curve.predictions[curve.alphas.index(alpha)]
            said.append(f"{what.format(alpha)} → {quoted(token)} {100 * prob:.0f}%")
    return "; ".join(said)


def lesson_image(session, view: str, width: int, height: int, style_name: str = "dark", transparent: bool = False,
                 annotations: frozenset[str] = frozenset(), svg: bool = False, steer=None):
    """A lesson view as a QImage (or SVG bytes with `svg`). `steer`: the
    core.patching.SteerCurve the "steer" view draws (the window's runs, or a sweep)."""
    if view not in LESSON_VIEWS and view != "steer":
        raise ValueError(f"unknown view {view!r}: choose from {', '.join(VIEWS)}")
    problem = figure_problem(session, view, steer)
    if problem is not None:
        raise ValueError(problem)
    style = STYLES.get(style_name, STYLES["dark"])
    theme = style.plot
    if view == "steer":
        from spherescope.widgets.lessons.steer import steer_plot

        fig = steer_plot(steer, theme)
        try:
            return _draw(composite(theme.background, [[fig.getPlotItem()]]), session, view, width, height, theme,
                         transparent, annotations, svg, made=[fig], steer=steer)
        finally:
            fig.deleteLater()
    cls = {k: c for k, c, _t in LESSONS}[LESSON_VIEWS[view]]
    session = session.snapshot()  # the throwaway dock binds to a detached copy, never to the live session
    dock = cls(session, None, theme=theme)
    made = []  # what the export made outside the dock (a plot it handed over, a composite)
    try:
        dock.refresh()
        fig = dock.figure_of(view) if hasattr(dock, "figure_of") else dock.figure()
        made.append(fig)
        if isinstance(fig, pg.PlotWidget):  # one plot: into a figure with a title row above it
            fig = composite(theme.background, [[fig.getPlotItem()]])
            made.append(fig)
        return _draw(fig, session, view, width, height, theme, transparent, annotations, svg)
    finally:
        # A plot the dock handed over has no parent any more: deleted with the dock it
        # would not be, and its connections would keep the snapshot (and its lessons,
        # megabytes a figure) alive for as long as the process runs.
        for w in made:
            if hasattr(w, "deleteLater") and w.parent() is None:
                w.deleteLater()
        dock.deleteLater()


def set_in_plane(session) -> bool:
    """The Plane view draws the prompt set (each prompt in its own plane), not one prompt."""
    from spherescope.core.set_plane import set_plane

    return bool(session.sets.in_plane) and set_plane(session.sets.summary) is not None


def _draw(fig, session, view, width, height, theme, transparent, annotations, svg, made=(), steer=None):
    """The figure under its annotation lines, as a QImage or SVG bytes."""
    if view == "set" or (view == "plane" and set_in_plane(session)):
        lines = set_title_lines(session, annotations)
        if view == "plane" and "title" in annotations:
            lines.append((_set_plane_line(session), False))
    else:
        lines = plot_title_lines(facts_of(session), annotations, _extra_line(view, session, steer))
    wrap = design_size(width, height, theme.design_side)[0].width() - 24
    try:
        with titled(fig, lines, theme.title, theme.headline_px, wrap):
            bg = None if transparent else QColor(theme.background)
            if svg:
                return plot_svg(fig, width, height, bg, side=theme.design_side)
            return plot_image(fig, width, height, bg, side=theme.design_side)
    finally:
        if made:
            fig.deleteLater()


def set_title_lines(session, annotations: frozenset[str]) -> list[tuple[str, bool]]:
    """A set's figure is titled by the set, not by the prompt in the Prompt panel."""
    sets, lines = session.sets, []
    s = sets.summary
    if "title" in annotations and s is not None:
        name = sets.source.name if sets.source is not None else "a prompt set"
        what = f"{s.n} prompts of {name}"
        if s.accuracy is not None:
            what += f": the target wins in {100 * s.accuracy:.0f}%, mean logit difference {s.final_diff_mean:+.2f}"
        lines.append((what, True))
    if "model" in annotations and session.model_info is not None:
        lines.append((session.model_info.name, False))
    return lines


def _set_plane_line(session) -> str:
    from spherescope.core.set_plane import set_plane

    sp = set_plane(session.sets.summary)
    i = min(max(session.layer, 0), sp.angle.shape[1] - 1)
    return (f"Layer {i}: h a median {sp.angle[1, i]:.0f}° from its target in its own plane (quartiles "
            f"{sp.angle[0, i]:.0f}° to {sp.angle[2, i]:.0f}°), which keeps a median {100 * sp.kept[1, i]:.0f}% of |h|")


def figure_problem(session, view: str, steer=None) -> str | None:
    """Why `view` cannot be drawn from this session now (one sentence), or None. The
    Export Dock menu says it beside each view it cannot draw. `steer`: the SteerCurve."""
    if view == "steer":
        return NO_CURVE if steer is None else steer.problem()
    if view == "plane" and set_in_plane(session):
        return None
    if view not in ("tied", "token-norms", "set") and session.trace is None:
        return "run a prompt first"
    if view in NEEDS_TOKENS and len(session.plane_tokens) < 2:
        return f"the {view} view needs two tokens (' Mary, John')"
    if view == "attribution" and session.attribution is None:
        return ("What moved it is computed while its tab is open: open the tab, let it fill, then export"
                if len(session.plane_tokens) else "What moved it needs a token to explain: set the plane's tokens")
    if view == "heads" and session.heads.view is None:
        return ("the Heads view is computed while its tab is open, for a block (a layer from 1): open it, let it "
                "fill, then export")
    if view == "head-patching" and session.comparison.head_grid is None:
        return "the head-patching view needs a head grid: press Patch heads on two prompts first"
    if view == "patching" and session.comparison.grid is None:
        return "the patching view needs a patching grid: run patching on two prompts first"
    if view == "set":
        return None if session.sets.summary is not None else \
            "the prompt set view needs a set: open one in Prompt set and press Run set"
    if view == "compare" and session.comparison.trace is None:
        return "the compare view needs a second prompt: enter one in Compare and patch"
    return None


def save_lesson_figure(session, view: str, path: str | os.PathLike, width: int, height: int, style_name: str = "dark",
                       transparent: bool = False, annotations: frozenset[str] = frozenset(), steer=None) -> Path:
    svg = Path(path).suffix.lower() == ".svg"
    out = lesson_image(session, view, width, height, style_name, transparent, annotations, svg=svg, steer=steer)
    return atomic_write_bytes(path, out) if svg else save_image(out, path)


def describe(session, view: str, steer=None) -> str:
    """A short line for the command line: what was drawn."""
    if view == "steer" and steer is not None:
        flips = [a for a, p, q in zip(steer.alphas[1:], steer.predictions, steer.predictions[1:]) if p[0] != q[0]]
        return (f"steering toward {steer.direction()} after block {steer.layer}, α {steer.alphas[0]:g}..{steer.alphas[-1]:g}, "
                f"the prediction changes {len(flips)} times")
    if view == "plane" and set_in_plane(session):
        return f"{session.sets.summary.n} prompts, each in its own plane, layer {session.layer}"
    if view == "plane" and len(session.plane_tokens) >= 2:
        a, b = (session.vocab.texts[int(i)] for i in session.plane_tokens[:2])
        return f"plane of {quoted(a)} and {quoted(b)}, layer {session.layer}"
    return f"{view}, layer {session.layer}"
