"""How things look: the 3-D view's styles (dark on screen, slide, paper) and the
colours of the lesson plots, in one place so every view and export agrees."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlotTheme:
    """Colours of the 2-D lesson plots and lists (hex strings or RGBA tuples)."""

    background: str = "#10141c"
    title: str = "#c9d3ea"
    axis: str = "#9fb0d6"
    text: str = "#e6ecfa"
    accent: str = "#ffb347"  # the highlighted series: p(top), the followed position, marks
    accent_fill: tuple = (255, 170, 60, 90)
    second: str = "#6eaaff"  # the second series: entropy, the embedding histogram
    second_fill: tuple = (110, 170, 255, 120)
    third: str = "#c084fc"  # temperature, the tied/untied cosines
    third_fill: tuple = (192, 132, 252, 120)
    cursor: str = "#ffffff"  # the current layer or alpha
    muted: tuple = (130, 160, 220, 90)  # the other positions' norm lines
    scatter: tuple = (110, 170, 255, 160)  # the round trip's score of every token
    bar_top: tuple = (255, 170, 60)  # the top-k bars: the first, the rest, the track
    bar: tuple = (110, 170, 255)
    bar_track: tuple = (255, 255, 255, 18)
    plate: tuple = (16, 20, 28, 220)  # behind hover text
    grid_alpha: float = 0.15
    path_cmap_top: float = 0.9  # light themes stop short of plasma's pale yellow end
    # An exported plot is laid out as a window whose shorter side is `design_side`
    # pixels, then drawn scaled to the picture (render.plots): everything, text, lines
    # and markers, grows as that side shrinks. Slides use 338: at 1080p the picture is
    # 3.2x the layout, so 9 pt tick labels are 28 px from cap to baseline, legible at
    # the back of a room. `headline_px`: the first title line's size in the layout.
    design_side: int = 540
    headline_px: float = 13.3


DARK_PLOT = PlotTheme()
# Light plots for slides and papers: dark text, saturated series that print and project.
SLIDE_PLOT = PlotTheme(
    background="#ffffff", title="#1b1f2a", axis="#3c4454", text="#1b1f2a", accent="#d06a00",
    accent_fill=(208, 106, 0, 80), second="#1f5fbf", second_fill=(31, 95, 191, 80), third="#7b2cbf",
    third_fill=(123, 44, 191, 80), cursor="#1b1f2a", muted=(90, 105, 140, 110), scatter=(31, 95, 191, 150),
    bar_top=(208, 106, 0), bar=(31, 95, 191), bar_track=(0, 0, 0, 20), plate=(255, 255, 255, 230),
    grid_alpha=0.15, path_cmap_top=0.85, design_side=338, headline_px=17.5,
)
PAPER_PLOT = PlotTheme(
    background="#ffffff", title="#000000", axis="#333333", text="#000000", accent="#b35900",
    accent_fill=(179, 89, 0, 70), second="#1a4f99", second_fill=(26, 79, 153, 70), third="#6a1b9a",
    third_fill=(106, 27, 154, 70), cursor="#000000", muted=(110, 110, 120, 110), scatter=(26, 79, 153, 140),
    bar_top=(179, 89, 0), bar=(26, 79, 153), bar_track=(0, 0, 0, 18), plate=(255, 255, 255, 230),
    grid_alpha=0.2, path_cmap_top=0.85,
)


@dataclass(frozen=True)
class Style:
    name: str = "dark"
    background: tuple = (14, 17, 26, 255)
    sphere: tuple = (0.35, 0.5, 0.85, 0.10)
    graticule: tuple = (0.65, 0.75, 1.0, 0.16)
    cloud: tuple = (0.62, 0.72, 0.95)
    cloud_alpha: float = 0.22
    cloud_size: float = 2.0
    path_width: float = 3.0
    label_color: tuple = (255, 190, 90, 255)
    prompt_label_color: tuple = (120, 220, 255, 255)
    axis_label_color: tuple = (170, 180, 210, 200)
    font_size: int = 11
    node_size: tuple = (6.0, 18.0)
    marker_color: tuple = (1.0, 1.0, 1.0, 0.95)
    marker_label_color: tuple = (255, 255, 255, 255)
    vector_color: tuple = (1.0, 1.0, 1.0, 0.75)
    path_cmap_top: float = 1.0  # light styles stop short of plasma's pale yellow end
    # Labels in exports, in points at REFERENCE_HEIGHT (800 px) and scaled with the
    # picture: 15 pt is 27 px at 1080p, 18 pt is 32 px (projector-readable).
    export_font_size: float = 15.0
    plot: PlotTheme = DARK_PLOT  # the 2-D lesson plots in this style


DARK = Style()
# For slides: light background, larger labels, thicker lines and nodes.
SLIDE = Style(
    name="slide", background=(255, 255, 255, 255), sphere=(0.45, 0.55, 0.8, 0.10),
    graticule=(0.25, 0.3, 0.45, 0.22), cloud=(0.3, 0.38, 0.6), cloud_alpha=0.30, cloud_size=2.5,
    path_width=5.0, label_color=(196, 96, 0, 255), prompt_label_color=(0, 100, 160, 255),
    axis_label_color=(80, 86, 100, 255), font_size=16, node_size=(9.0, 26.0),
    marker_color=(0.1, 0.1, 0.12, 0.9), marker_label_color=(20, 20, 24, 255), vector_color=(0.15, 0.15, 0.2, 0.8),
    path_cmap_top=0.85, export_font_size=18.0, plot=SLIDE_PLOT,
)
# For papers: white background, restrained sizes that survive scaling down to a column.
PAPER = Style(
    name="paper", background=(255, 255, 255, 255), sphere=(0.6, 0.65, 0.75, 0.08),
    graticule=(0.35, 0.35, 0.4, 0.18), cloud=(0.35, 0.4, 0.55), cloud_alpha=0.22, cloud_size=2.0,
    path_width=3.0, label_color=(170, 80, 0, 255), prompt_label_color=(0, 90, 140, 255),
    axis_label_color=(90, 90, 100, 255), font_size=11, node_size=(6.0, 18.0),
    marker_color=(0.05, 0.05, 0.05, 0.9), marker_label_color=(0, 0, 0, 255), vector_color=(0.2, 0.2, 0.2, 0.8),
    path_cmap_top=0.85, export_font_size=14.0, plot=PAPER_PLOT,
)
STYLES = {s.name: s for s in (DARK, SLIDE, PAPER)}
