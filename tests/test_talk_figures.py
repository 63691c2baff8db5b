"""Talk figures, round two (issue 27): the sphere's camera tells the article's story, a
picture of one layer draws the path up to it, a tied model's figure is not empty axes."""

import numpy as np
import pytest

import spherescope
from gui_support import ARTICLE
from spherescope.state.scene import CAMERAS, parse_camera

pytestmark = pytest.mark.real_model


def _px(img):
    return np.asarray(img.convert("RGB")).astype(int)


def test_parse_camera():
    assert parse_camera("plane")["elevation"] == 90.0 and parse_camera("TOP") == parse_camera("plane")
    assert parse_camera("oblique")["elevation"] == CAMERAS["oblique"]["elevation"]
    cam = parse_camera("30,20,4")
    assert (cam["azimuth"], cam["elevation"], cam["distance"]) == (30.0, 20.0, 4.0)
    for bad in ("sideways", "1", "1,2,3,4", "0,95", "0,10,0.1", "nan,3"):
        with pytest.raises(ValueError, match="--camera"):
            parse_camera(bad)


def test_with_tokens_the_sphere_is_seen_from_above_the_plane(qapp):
    kw = dict(tokens=" Mary, John", size=(480, 270), style="slide", annotations="none")
    default = _px(spherescope.figure(ARTICLE, **kw))
    above = _px(spherescope.figure(ARTICLE, camera="plane", **kw))
    oblique = _px(spherescope.figure(ARTICLE, camera="oblique", **kw))
    assert np.abs(default - above).mean() < 0.5, "the default camera is the one above the plane"
    assert np.abs(default - oblique).mean() > 3


def test_one_layer_draws_the_path_up_to_that_layer(qapp):
    kw = dict(tokens=" Mary, John", size=(480, 270), style="slide", annotations="none", layer=12)
    cut = _px(spherescope.figure(ARTICLE, **kw))
    whole = _px(spherescope.figure(ARTICLE, whole_path=True, **kw))
    last = _px(spherescope.figure(ARTICLE, tokens=" Mary, John", size=(480, 270), style="slide", annotations="none"))
    last_whole = _px(spherescope.figure(ARTICLE, tokens=" Mary, John", size=(480, 270), style="slide",
                                        annotations="none", whole_path=True))
    assert (np.abs(cut - whole).sum(axis=2) > 60).mean() > 0.001, "layers 13-30 are not drawn at layer 12"
    assert np.abs(last - last_whole).mean() < 0.5, "at the last layer the path is whole either way"


def test_a_tied_models_figure_shows_its_rows(qapp):
    img = _px(spherescope.figure(ARTICLE, view="tied", size=(640, 360), style="slide", annotations="none"))
    plot = img[60:330, 60:620]
    colored = (plot.max(axis=2) - plot.min(axis=2)) > 25  # the histogram's tint; axes and grid are grey
    assert colored.mean() > 0.1, "a histogram, not empty axes"


# Legible at the back of a room (issue 27): measured on the rendered pictures, from the
# ink of the text, not from font settings. Strings without descenders are put in the
# headline's place (the rendering path is the same), so a line's ink height is its
# cap-to-baseline height.
HEADLINE = "HEIGHT 0123 HEIGHT"


def _ink_runs(mask_rows):
    """(start, end) of each run of rows that hold ink."""
    runs, start = [], None
    for y, ink in enumerate(list(mask_rows) + [False]):
        if ink and start is None:
            start = y
        elif not ink and start is not None:
            runs.append((start, y))
            start = None
    return runs


def _left_tick_heights(img):
    """Ink heights of the tick labels left of the first plot's y axis (digits: cap height)."""
    px = _px(img).min(axis=2)
    h, w = px.shape
    dark = px < 140
    cols = dark[h // 4:].mean(axis=0)
    axis_x = int(np.argmax(cols[: w // 3] > 0.3))  # the y axis: a dark column through the plot
    assert axis_x > 0, "found the y axis"
    strip = dark[:, max(axis_x - int(0.02 * w), 0): axis_x - int(0.004 * w)]  # the labels are right-aligned here
    return [b - a for a, b in _ink_runs(strip.any(axis=1)) if b - a > 3]


def _headline_height(img, right: float = 1.0):
    px = _px(img).min(axis=2)
    rows = (px[:, : int(right * px.shape[1])] < 100).any(axis=1)
    return _ink_runs(rows)[0][1] - _ink_runs(rows)[0][0]


@pytest.mark.parametrize("view", ["attribution", "compare"])
def test_slide_text_is_legible_at_the_back_of_a_room(qapp, monkeypatch, view):
    from spherescope.render.annotations import FigureFacts

    monkeypatch.setattr(FigureFacts, "title", lambda self: HEADLINE)
    kw = dict(tokens=" Mary, John", style="slide", view=view)
    if view == "compare":
        kw["compare"] = ARTICLE.replace("John bought", "Mary bought")
    hd = spherescope.figure(ARTICLE, size=(1920, 1080), **kw)
    ticks = _left_tick_heights(hd)
    assert len(ticks) >= 2 and min(ticks) >= 28, f"tick labels {ticks} px at 1080p, want >= 28"
    assert _headline_height(hd) >= 40, f"headline {_headline_height(hd)} px at 1080p, want >= 40"
    uhd = spherescope.figure(ARTICLE, size=(3840, 2160), **kw)
    ratio = np.median(_left_tick_heights(uhd)) / np.median(ticks)
    assert 1.85 < ratio < 2.15, f"4K keeps 1080p's proportions (tick labels {ratio:.2f}x)"


def test_the_sphere_headline_is_legible_and_clear_of_the_layer_number(qapp, monkeypatch):
    from spherescope.render.annotations import FigureFacts

    monkeypatch.setattr(FigureFacts, "title", lambda self: HEADLINE + " " + HEADLINE)
    img = spherescope.figure(ARTICLE, tokens=" Mary, John", style="slide", size=(1920, 1080))
    assert _headline_height(img, right=0.25) >= 40
    px = _px(img).min(axis=2)
    first = _ink_runs((px[:, :480] < 100).any(axis=1))[0]
    band = px[first[0]:first[1], 480:1500] < 100  # the headline's first line stops short of the sphere and the layer number
    assert band.mean() < 0.01, "the headline wraps in the column beside the sphere"


def test_the_steer_figure_is_the_dose_response_from_the_command_line(qapp, tmp_path, capsys):
    from spherescope.cli import main

    out = tmp_path / "steer.png"
    assert main(["render", "--view", "steer", "--prompt", ARTICLE, "--tokens", " Mary, John", "--style", "slide",
                 "--steer-alpha", "60", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "steering toward ' John' − ' Mary' after block 15" in said and "the prediction changes" in said
    from PIL import Image

    from spherescope.render.styles import STYLES

    img = _px(Image.open(out))
    assert img.shape[:2] == (1080, 1920)
    hexa = STYLES["slide"].plot.accent.lstrip("#")
    accent = np.array([int(hexa[i:i + 2], 16) for i in (0, 2, 4)])
    curve = (np.abs(img - accent).sum(axis=2) < 40).mean()
    assert curve > 0.001, "the α curve is drawn in the accent colour"
    assert main(["render", "--view", "plane", "--prompt", ARTICLE, "--tokens", " Mary, John", "--steer-layer", "3",
                 "--out", str(tmp_path / "p.png")]) == 2
    assert "add --view steer" in capsys.readouterr().err
    assert main(["render", "--view", "steer", "--prompt", ARTICLE, "--alphas", "1:2:1",
                 "--out", str(tmp_path / "s.png")]) == 2


def test_the_steer_curve_is_the_apis_sweep(qapp):
    """The figure's numbers are the API's: the same forward passes, the same α."""
    from spherescope.core.patching import SteerSpec
    from spherescope.models.patching import steer_curve
    from spherescope.models.trace import tokenize

    m = spherescope.load()
    mary, john = m.token(" Mary"), m.token(" John")
    toks = [t.id for t in tokenize(m.loaded, ARTICLE)]
    curve = steer_curve(m.loaded, toks, SteerSpec(15, john, mary, 0.0, None), (-40.0, 0.0, 40.0))
    sweep = m.steer_sweep(ARTICLE, 15, " John", [-40, 0, 40], away=" Mary", target=" John", contrast=" Mary")
    np.testing.assert_allclose(curve.diffs, sweep.diffs, atol=1e-5)
    assert [p[0] for p in curve.predictions] == list(sweep.next_texts)
    assert curve.diffs[0] < curve.diffs[1] < curve.diffs[2], "toward ' John' raises logit(' John') − logit(' Mary')"
    plain = m.trace(ARTICLE, attribute=" John", contrast=" Mary")
    assert curve.diffs[1] == pytest.approx(plain.data["attribution"]["logit_diff"], abs=1e-4)
