"""spherescope.figure: every view on its own at the requested size, SVG that every reader
draws alike, and an in-memory model (the Python API shares the command's code)."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import spherescope
from gui_support import ARTICLE

pytestmark = pytest.mark.real_model
VIEWS = ["sphere", "plane", "closest", "confidence", "norms", "token-norms", "roundtrip", "tied"]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_alone_at_the_requested_size(qapp, view):
    img = spherescope.figure(ARTICLE, view=view, tokens=" Mary, John", size=(480, 270), style="paper")
    assert img.size == (480, 270)
    px = np.asarray(img.convert("RGB")).astype(int)
    assert px.std() > 10 and len(np.unique(px.reshape(-1, 3), axis=0)) > 40, "nothing drawn"


def test_annotations_are_drawn_and_can_be_switched_off(qapp):
    bare = np.asarray(spherescope.figure(ARTICLE, size=(640, 360), style="slide", annotations="none").convert("RGB"))
    full = np.asarray(spherescope.figure(ARTICLE, size=(640, 360), style="slide").convert("RGB")).astype(int)
    only_title = np.asarray(spherescope.figure(ARTICLE, size=(640, 360), style="slide",
                                               annotations=["title"]).convert("RGB")).astype(int)
    bare = bare.astype(int)

    def differs(a, b, rows, cols):
        return (np.abs(a[rows, cols] - b[rows, cols]).sum(axis=2) > 60).mean()

    top_left, top_right = (slice(0, 40), slice(0, 320)), (slice(0, 40), slice(520, 640))
    bottom_left, bottom_right = (slice(300, 360), slice(0, 250)), (slice(300, 360), slice(460, 640))
    for region in (top_left, top_right, bottom_left, bottom_right):
        assert differs(full, bare, *region) > 0.01, region  # title, layer counter, key, colour bar
    assert differs(only_title, bare, *top_left) > 0.01 and differs(only_title, bare, *bottom_right) < 0.002


def test_svg_has_no_non_scaling_strokes_and_matches_the_png(qapp, tmp_path):
    png = spherescope.figure(ARTICLE, view="norms", size=(640, 360), style="slide", out=tmp_path / "n.png")
    svg = spherescope.figure(ARTICLE, view="norms", size=(640, 360), style="slide", out=tmp_path / "n.svg")
    text = svg.read_text(encoding="utf-8")
    assert "non-scaling-stroke" not in text
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("width") == "640" and root.get("height") == "360"
    # Drawn by librsvg (as GNOME, Inkscape's import and many tools) and by ImageMagick,
    # the figure is the PNG's; ImageMagick ignored non-scaling-stroke and drew bands.
    import subprocess

    from PySide6.QtGui import QImage

    ref = _rgb(QImage(str(png))).astype(float)
    renders = {}
    for name, cmd in (("rsvg", ["rsvg-convert", str(svg), "-o", str(tmp_path / "rsvg.png")]),
                      ("imagemagick", ["convert", str(svg), str(tmp_path / "imagemagick.png")])):
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        renders[name] = _rgb(QImage(str(tmp_path / f"{name}.png"))).astype(float)
        assert renders[name].shape == ref.shape, name
        rmse = np.sqrt(((renders[name] - ref) ** 2).mean()) / 255
        assert rmse < 0.10, f"{name} draws the SVG {100 * rmse:.1f}% RMSE away from the PNG"
    assert np.sqrt(((renders["rsvg"] - renders["imagemagick"]) ** 2).mean()) / 255 < 0.02
    sphere_svg = spherescope.figure(ARTICLE, size=(320, 180), out=tmp_path / "s.svg").read_text()
    assert "<image" in sphere_svg and "non-scaling-stroke" not in sphere_svg


def _rgb(img):
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3)


def test_an_in_memory_model_and_its_tokenizer(qapp, tmp_path):
    from tiny_models import make_model, tiny_tokenizer

    model, tok = make_model("gpt2"), tiny_tokenizer()
    img = spherescope.figure("John and Mary", model=model, tokenizer=tok, size=(320, 240), style="dark",
                             model_name="a fine-tune")
    assert img.size == (320, 240)
    out = spherescope.figure("John and Mary", model=model, tokenizer=tok, view="norms", size=(320, 240),
                             out=tmp_path / "tune.png")
    assert out.exists() and out.stat().st_size > 1000
    with pytest.raises(ValueError, match="needs its tokenizer"):
        spherescope.figure("John", model=model)


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"view": "galaxy"}, ValueError, "unknown view"),
    ({"view": "plane"}, ValueError, "needs two tokens"),
    ({"size": (0, 100)}, ValueError, "between 16 and 16384"),
    ({"size": (20000, 100)}, ValueError, "between 16 and 16384"),
    ({"out": "fig.bmp"}, ValueError, "--out must end"),
    ({"annotations": "title,sparkles"}, ValueError, "unknown annotation"),
    ({"orbit": float("inf"), "out": "a.mp4"}, ValueError, "--orbit"),
])
def test_bad_arguments_are_one_sentence_and_leave_no_file(qapp, tmp_path, kwargs, error, pattern):
    if "out" in kwargs:
        kwargs = {**kwargs, "out": tmp_path / kwargs["out"]}
    with pytest.raises(error, match=pattern):
        spherescope.figure(ARTICLE, **kwargs)
    assert list(tmp_path.iterdir()) == []
