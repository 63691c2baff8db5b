"""Exports from the real window: exact sizes, transparency, SVG, video frame counts,
scenes that reopen to the same picture, and failures that leave nothing behind."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage

from spherescope.widgets.export_dialog import ExportOptions
from gui_support import ARTICLE, RUN_TIMEOUT, type_and_run


def _read_png(path):
    img = QImage(str(path))
    assert not img.isNull(), f"{path} is not a readable image"
    return img


def _rgba(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return arr[:, : img.width()].copy()


@pytest.fixture
def traced(qtbot, window):
    type_and_run(qtbot, window)
    return window


def test_png_exact_size_not_blank(traced, tmp_path):
    path = tmp_path / "view.png"
    assert traced.export_image(ExportOptions(str(path), 1920, 1080, "dark", False))
    img = _read_png(path)
    assert (img.width(), img.height()) == (1920, 1080)
    px = _rgba(img)
    assert px[..., :3].std() > 5 and len(np.unique(px[..., :3].reshape(-1, 3), axis=0)) > 500


def test_transparent_4k_png_has_alpha(traced, tmp_path):
    path = tmp_path / "view4k.png"
    assert traced.export_image(ExportOptions(str(path), 3840, 2160, "slide", True))
    img = _read_png(path)
    assert (img.width(), img.height()) == (3840, 2160)
    assert img.hasAlphaChannel()
    px = _rgba(img)
    assert px[0, 0, 3] == 0 and px[-1, -1, 3] == 0, "the background is transparent"
    assert px[1080, 1920, 3] > 0, "the sphere is opaque-ish"


def test_styles_differ(traced, tmp_path):
    imgs = {}
    for style in ("dark", "slide", "paper"):
        p = tmp_path / f"{style}.png"
        assert traced.export_image(ExportOptions(str(p), 640, 480, style, False))
        imgs[style] = _rgba(_read_png(p))
    assert imgs["dark"][5, 5, :3].mean() < 60 and imgs["slide"][5, 5, :3].mean() > 200
    assert not np.array_equal(imgs["slide"], imgs["paper"])
    assert traced.session.style == "dark", "exporting in another style leaves the window as it was"


def test_window_and_dock_exports(traced, tmp_path):
    expected = traced.grab().size()
    assert traced.export_widget(traced, str(tmp_path / "win.png"))
    img = _read_png(tmp_path / "win.png")
    assert (img.width(), img.height()) == (expected.width(), expected.height())
    assert traced.export_widget(traced.layer_dock, str(tmp_path / "layer.svg"))
    root = ET.parse(tmp_path / "layer.svg").getroot()
    assert root.tag.endswith("svg")
    assert traced.export_widget(traced.prompt_dock, str(tmp_path / "prompt.png"))


def test_export_dialog_drives_an_export(qtbot, traced, tmp_path):
    dlg = traced.show_export_dialog(animation=False)
    dlg.path.setText(str(tmp_path / "dialog.png"))
    dlg.size_combo.setCurrentIndex(dlg.size_combo.findData("custom"))
    dlg.width_spin.setValue(800)
    dlg.height_spin.setValue(600)
    qtbot.mouseClick(dlg.ok_button, Qt.MouseButton.LeftButton)
    img = _read_png(tmp_path / "dialog.png")
    assert (img.width(), img.height()) == (800, 600)


def test_unwritable_path_keeps_session(traced, tmp_path):
    before = traced.session.trace
    assert not traced.export_image(ExportOptions("/proc/nope.png", 640, 480, "dark", False))
    assert "Export failed" in traced.message_bar.text()
    assert not traced.export_image(ExportOptions(str(tmp_path / "missing" / "x.png"), 640, 480, "dark", False))
    assert traced.session.trace is before and traced.session.layer == 30
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_animation_has_one_frame_per_layer(qtbot, traced, tmp_path, suffix):
    path = tmp_path / f"sweep{suffix}"
    sweep = traced.export_animation(ExportOptions(str(path), 320, 240, "dark", False, fps=10, orbit_degrees=30))
    assert sweep is not None
    with qtbot.waitSignal(sweep.done, timeout=RUN_TIMEOUT * 2):
        pass
    frames = _frames(path)
    assert len(frames) == 31
    assert frames[0].shape == (240, 320, 3)
    assert np.abs(frames[0].astype(int) - frames[30].astype(int)).mean() > 1, "the frames change over the sweep"
    assert traced.session.layer == 30, "the window returns to where it was"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def _frames(path):
    if path.suffix == ".gif":
        from PIL import Image, ImageSequence

        with Image.open(path) as im:
            return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    # ffmpeg itself (the one inside imageio-ffmpeg) decodes; its own reader leaks pipes.
    import re
    import subprocess

    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    w, h = (int(x) for x in re.search(r"Video: .*?(\d{2,5})x(\d{2,5})", probe).groups())
    raw = subprocess.run([exe, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return list(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3))


def test_cancel_animation_leaves_no_file(qtbot, traced, tmp_path):
    path = tmp_path / "cancel.mp4"
    sweep = traced.export_animation(ExportOptions(str(path), 320, 240, "dark", False))

    def on_progress(i, n):
        if i == 3:
            from PySide6.QtWidgets import QPushButton

            traced.progress_dialog.findChild(QPushButton).click()  # the dialog's Cancel button

    sweep.progress.connect(on_progress)
    with qtbot.waitSignal(sweep.cancelled, timeout=RUN_TIMEOUT):
        pass
    assert list(tmp_path.iterdir()) == []
    assert "cancelled" in traced.message_bar.text()
    assert traced.sweep is None


def test_copy_view_to_clipboard(qtbot, traced):
    traced.view_container.setFocus()
    qtbot.keyClick(traced.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    img = QGuiApplication.clipboard().image()
    assert not img.isNull() and img.width() == traced.view.grab_image().width()


def test_scene_round_trip_same_picture(qtbot, traced, make_window, tmp_path):
    s = traced.session
    s.basis_kind = "token-plane"
    s.plane_tokens = (5099, 2322)
    s.layer = 21
    s.length_as = "radius"
    traced.view.orbit(40, 10)
    scene = tmp_path / "talk.spherescope"
    assert traced.save_scene(str(scene))
    before = _rgba(traced.view.render_image(800, 600))
    other = make_window()
    assert other.open_scene(str(scene))
    qtbot.waitUntil(lambda: other.session.trace is not None and other.session.layer == 21, timeout=RUN_TIMEOUT)
    o = other.session
    assert (o.prompt, o.basis_kind, o.plane_tokens, o.length_as) == (ARTICLE, "token-plane", (5099, 2322), "radius")
    cam_a, cam_b = traced.view.camera(), other.view.camera()
    assert cam_b.pop("center") == pytest.approx(cam_a.pop("center"))
    assert cam_b == pytest.approx(cam_a)
    after = _rgba(other.view.render_image(800, 600))
    differing = (np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 8).mean()
    assert differing < 0.01, f"{100 * differing:.2f}% of pixels differ"


@pytest.mark.parametrize("content, pattern", [
    ('{"format": "spherescope-scene", "version": 1, "prompt": "x', "corrupt or truncated"),
    ('{"format": "spherescope-scene", "version": 7}', "newer"),
    ('{"format": "spherescope-scene", "version": 1, "model": "/no/such/model", "prompt": "x"}', "not found"),
])
def test_bad_scene_leaves_session_untouched(qtbot, traced, tmp_path, content, pattern):
    s = traced.session
    state = (s.prompt, s.layer, s.basis_kind, s.model_ref, s.trace)
    p = tmp_path / "bad.spherescope"
    p.write_text(content)
    assert not traced.open_scene(str(p))
    assert pattern in traced.message_bar.text()
    assert (s.prompt, s.layer, s.basis_kind, s.model_ref, s.trace) == state
