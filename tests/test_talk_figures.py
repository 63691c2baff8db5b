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
