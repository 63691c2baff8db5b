"""Drive the real window with the real model the way a user would."""

import numpy as np
from PySide6.QtCore import QPoint, Qt

from gui_support import RUN_TIMEOUT, assert_not_blank, changed_fraction, type_and_run, view_pixels


def test_window_shows_model_and_sphere(window):
    assert window.session.model_info.num_layers == 30
    assert "SmolLM2" in window.status_model.text()
    assert "float32 lens" in window.status_device.text()
    assert not window.progress.isVisible()
    assert_not_blank(view_pixels(window))


def test_run_streams_every_layer_then_predicts_mary(qtbot, window):
    layers = []
    window.session.frame_added.connect(layers.append)
    type_and_run(qtbot, window)
    assert layers == list(range(31)), "each layer arrives as its own frame, in order"
    s = window.session
    assert [t.text for t in s.tokens][:3] == ["John", " and", " Mary"]
    assert window.prompt_dock.chips.count() == 13
    assert window.prompt_dock.chips.texts()[2] == "␣Mary\n5099"
    assert s.layer == 30, "the slider follows the newest layer while a run streams in"
    assert window.layer_dock.bars.texts()[0] == " Mary"
    assert "Mary" in window.status_text.text()
    assert window.layer_dock.slider.maximum() == 30
    assert_not_blank(view_pixels(window))
    # A full trace (ten lens rows, thirteen chips) must not push the window's minimum
    # past its default size: it once grew beyond a 1000-pixel screen and squeezed docks.
    assert window.minimumSizeHint().height() <= 920


def test_drag_slider_moves_marker_and_changes_top_k(qtbot, window):
    type_and_run(qtbot, window)
    slider = window.layer_dock.slider
    marker_end = window.view.marker_position()
    bars_end = window.layer_dock.bars.texts()
    pix_end = view_pixels(window)
    # Drag the handle from the right end to about a fifth of the groove.
    y = slider.height() // 2
    start = QPoint(slider.width() - 8, y)
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for x in np.linspace(slider.width() - 8, slider.width() * 0.2, 8):
        qtbot.mouseMove(slider, QPoint(int(x), y))
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(int(slider.width() * 0.2), y))
    layer = window.session.layer
    assert 2 <= layer <= 12, layer
    assert window.layer_dock.layer_label.text() == f"Layer {layer} / 30"
    assert not np.allclose(window.view.marker_position(), marker_end)
    assert window.layer_dock.bars.texts() != bars_end
    assert changed_fraction(view_pixels(window), pix_end) > 0.001
    # Keyboard: Right steps one layer, Left steps back.
    window.view_container.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    assert window.session.layer == layer + 1
    qtbot.keyClick(window.view, Qt.Key.Key_Left)
    assert window.session.layer == layer


def test_view_differs_between_first_and_last_layer(qtbot, window):
    type_and_run(qtbot, window)
    window.session.layer = 0
    first = view_pixels(window)
    window.session.layer = 30
    last = view_pixels(window)
    assert_not_blank(first)
    assert changed_fraction(first, last) > 0.001


def test_clicking_a_chip_follows_that_position(qtbot, window):
    type_and_run(qtbot, window)
    path_last = window.session.path().copy()
    chips = window.prompt_dock.chips
    rect = chips.visualItemRect(chips.item(2))
    qtbot.mouseClick(chips.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.session.position == 2
    assert chips.currentRow() == 2
    assert not np.allclose(window.session.path(), path_last)
    # The lens for the new position comes from the worker without a new forward pass.
    qtbot.waitUntil(lambda: window.session.current_lens() is not None, timeout=RUN_TIMEOUT)
    assert 2 in window.session.lens_by_position
    assert "Position 2 (' Mary')" in window.layer_dock.readout.text()


def test_switch_basis_reprojects(qtbot, window):
    type_and_run(qtbot, window)
    before = view_pixels(window)
    axes_before = window.session.basis.axes.copy()
    combo = window.basis_dock.kind
    combo.setCurrentIndex(combo.findData("trajectory-pca"))
    assert window.session.basis.kind == "trajectory-pca"
    assert not np.allclose(window.session.basis.axes, axes_before)
    assert changed_fraction(view_pixels(window), before) > 0.01
    # The article's figure: the plane of " Mary" and " John", typed with completion.
    combo.setCurrentIndex(combo.findData("token-plane"))
    edit = window.basis_dock.token_edit
    for tok in (" Mary", " John"):
        edit.setFocus()
        qtbot.keyClicks(edit, tok)
        assert edit.text() == tok.replace(" ", "␣")  # spaces shown as they are typed
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.session.plane_tokens == (5099, 2322)
    assert window.session.basis.labels[:2] == (" Mary", " John")
    kept_last = window.session.projected_path().kept[-1]
    assert 0 < kept_last <= 1


def test_cancel_part_way_keeps_app_usable(qtbot, window):
    # A long prompt makes the forward pass long enough to cancel inside it.
    long_prompt = "The cat went up the stairs. " * 300
    frames = []

    def on_frame(layer):
        frames.append(layer)
        if layer == 0:
            window.prompt_dock.cancel_button.click()

    window.session.frame_added.connect(on_frame)
    with qtbot.waitSignal(window.controller.job_cancelled, timeout=RUN_TIMEOUT) as blocker:
        type_and_run(qtbot, window, long_prompt, wait=False)
    assert blocker.args == ["trace"]
    qtbot.waitUntil(lambda: window.session.busy == "", timeout=RUN_TIMEOUT)
    assert window.session.trace is None
    assert frames and frames[-1] < 30
    assert "cancel" in window.status_text.text().lower()
    window.session.frame_added.disconnect(on_frame)
    type_and_run(qtbot, window)  # still usable
    assert window.layer_dock.bars.texts()[0] == " Mary"


def test_first_launch_size_fits_the_screen(qapp, monkeypatch):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QGuiApplication

    from spherescope.widgets.main_window import first_size

    assert first_size() == (1480, 920)  # the test screen is 1600x1000: room for the usual size

    class Small:
        def availableGeometry(self):
            return QRect(0, 0, 1366, 740)  # a laptop with a panel

    monkeypatch.setattr(QGuiApplication, "primaryScreen", staticmethod(lambda: Small()))
    w, h = first_size()
    assert (w, h) == (1326, 700)
