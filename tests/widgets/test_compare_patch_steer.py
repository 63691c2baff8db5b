"""Compare and intervene, in the window, on the article's prompt: a second prompt on the
sphere with its own lens column, the patching heatmap filling in and its cells shown on
the sphere, and the steering slider flipping the prediction."""

import math

import numpy as np
from PySide6.QtCore import QPointF, Qt

from gui_support import RUN_TIMEOUT, changed_fraction, type_and_run, view_pixels

CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


def _compare(qtbot, win, prompt=CORRUPT):
    type_and_run(qtbot, win)
    win.docks["compare"].raise_()
    dock = win.lessons["compare"][0]
    dock.second.clear()
    qtbot.keyClicks(dock.second, prompt)
    dock.before = view_pixels(win)
    qtbot.keyClick(dock.second, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.session.comparison.trace is not None and win.session.comparison.diffs is not None,
                    timeout=RUN_TIMEOUT)
    return win.session, dock


def test_two_prompts_on_one_sphere_with_their_own_lens(qtbot, window):
    s, dock = _compare(qtbot, window)
    assert s.comparison.prompt == CORRUPT and s.comparison.label == "second prompt"
    assert [t.text for t in s.comparison.trace.tokens][8] == " Mary"
    # The angle at the followed (last) position: 0 at the embeddings (the same ' for'), growing late.
    x, angle = dock.angle.getData()
    assert len(x) == 31 and angle[0] == 0.0 and angle[-1] > 5
    first, second = s.comparison.diffs
    assert first[-1] > 0 > second[-1], "the lens says ' Mary' for the first prompt and ' John' for the second"
    assert "Second (13)" in dock.tokens.text()
    # The second path is drawn, in its own colours, and the overlay says what it is.
    assert changed_fraction(dock.before, view_pixels(window)) > 0.002
    assert any("Green to yellow: the second prompt" in t for t, _c, _b in window.view.labels.overlay)
    # Its own lens column beside the first.
    bars2 = window.layer_dock.bars2
    second_top = bars2.texts()
    assert bars2.isVisible() and " John" in second_top[:3]
    assert " Mary" not in second_top or second_top.index(" John") < second_top.index(" Mary")
    assert window.layer_dock.bars.texts()[0] == " Mary"
    s.layer = 0
    assert bars2.texts() == window.layer_dock.bars.texts(), "layer 0 at ' for' is the same embedding"
    # Clearing the second prompt hides it all again.
    dock.second.clear()
    qtbot.keyClick(dock.second, Qt.Key.Key_Return)
    assert s.comparison.trace is None and not bars2.isVisible()


def test_swap_button_makes_the_counterfactual(qtbot, window):
    type_and_run(qtbot, window)
    window.docks["compare"].raise_()
    dock = window.lessons["compare"][0]
    assert tuple(window.session.plane_tokens[:2]) == (5099, 2322)
    qtbot.mouseClick(dock.swap, Qt.MouseButton.LeftButton)
    assert dock.second.text() == "Mary and John went to the bar. Mary bought a drink for"
    qtbot.waitUntil(lambda: window.session.comparison.trace is not None, timeout=RUN_TIMEOUT)


def test_patching_heatmap_fills_in_and_a_cell_goes_on_the_sphere(qtbot, window):
    s, dock = _compare(qtbot, window)
    rows_seen = []
    s.comparison.grid_changed.connect(lambda g: g is not None and rows_seen.append(g.rows_done()))
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.comparison.grid is not None and not s.comparison.running, timeout=RUN_TIMEOUT)
    # It filled in row by row, in the worker.
    assert rows_seen[0] == 0 and rows_seen[-1] == 31 and len(set(rows_seen)) > 10
    m = s.comparison.grid.matrix
    assert m.shape == (31, 13) and m[0, 8] > 0.99 and m[30, 12] > 0.99
    assert np.all(m[0, [p for p in range(13) if p != 8]] == 0.0)
    assert "logit(' Mary') − logit(' John')" in dock.heat_plot.getPlotItem().titleLabel.text
    qtbot.waitUntil(lambda: "all layers done" in dock.readout.text(), timeout=RUN_TIMEOUT)
    assert "first (clean) +1.66, second (corrupt) -2.38" in dock.readout.text()
    # The heatmap is drawn: red where the name carries it early.
    img = dock.heat.image
    assert img.max() > 0.99 and img.min() < -0.2
    assert img is not None and img.shape == (31 * 8, 13 * 8)
    # Clicking cell (layer 10, ' Mary') patches ' John' back in there: the second path becomes that run.
    vb = dock.heat_plot.getPlotItem().getViewBox()
    scene_pt = vb.mapViewToScene(QPointF(8, 10))
    qtbot.mouseClick(dock.heat_plot.viewport(), Qt.MouseButton.LeftButton, pos=dock.heat_plot.mapFromScene(scene_pt))
    qtbot.waitUntil(lambda: s.comparison.label == "patched at layer 10, position 8", timeout=RUN_TIMEOUT)
    assert s.comparison.trace.next_token.text == " Mary", "the patched run recovers the clean answer"
    head = window.layer_dock.head2
    assert head.text().startswith("Patched run") and "patched at layer 10" in head.toolTip()
    assert "On the sphere now" in dock.tokens.text()


def test_patching_bad_input_and_cancel_keep_the_session(qtbot, window):
    s, dock = _compare(qtbot, window, "Mary bought a drink for")
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "equal length" in window.message_bar.text(), timeout=RUN_TIMEOUT)
    assert "13 tokens" in window.message_bar.text() and not s.comparison.running
    assert "The lengths differ" in dock.tokens.text()
    trace = s.trace
    # A target equal to its contrast.
    dock.second.setText(CORRUPT)
    dock.compare()
    s.plane_tokens = (5099, 5099)
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "contrast is the target" in window.message_bar.text(), timeout=RUN_TIMEOUT)
    # Cancelling mid-grid keeps the rows done and the session.
    s.plane_tokens = (5099, 2322)
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.comparison.grid is not None and s.comparison.grid.rows_done() >= 1, timeout=RUN_TIMEOUT)
    from spherescope.jobs.base import JobKind

    runner = window.controller.runner
    # The worker says when the cancelled job has stopped; rows it sent before that are
    # dropped on arrival, and none can come after.
    with qtbot.waitSignal(runner.cancelled, timeout=RUN_TIMEOUT, check_params_cb=lambda kind, job: kind == JobKind.PATCH):
        qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
        assert not s.comparison.running
        done = s.comparison.grid.rows_done()
        assert 1 <= done < 31
    assert s.comparison.grid.rows_done() == done
    assert s.trace is trace and s.prompt and window.controller.runner is not None
    type_and_run(qtbot, window)  # still works


def _click_box(qtbot, box):
    """On the check box's indicator (its middle may be empty stretch)."""
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_steering_slider_flips_the_prediction_live(qtbot, window):
    type_and_run(qtbot, window)
    s = window.session
    plain = s.trace
    assert plain.next_token.text == " Mary"
    window.docks["steer"].raise_()
    dock = window.lessons["steer"][0]
    _click_box(qtbot, dock.enabled)
    dock.layer.setValue(15)
    qtbot.mouseClick(dock.contrast_button, Qt.MouseButton.LeftButton)
    assert dock.toward.text() == "␣John" and dock.away.text() == "␣Mary"
    dock.alpha.setFocus()
    for _ in range(5):  # five page steps of 10 while the runs come back: the latest wins
        qtbot.keyClick(dock.alpha, Qt.Key.Key_PageUp)
    assert dock.enabled.isChecked() and dock.alpha.value() == 50, (dock.enabled.isChecked(), dock.alpha.value())
    assert s.steering.spec.alpha == 50
    qtbot.waitUntil(lambda: s.steering.traced is not None and s.steering.traced.alpha == 50 and not s.busy,
                    timeout=RUN_TIMEOUT)
    assert s.trace.next_token.text != " Mary"
    assert "' John' beats ' Mary'" in dock.readout.text() and "(unsteered: -1.66)" in dock.readout.text()
    assert "(steered)" in window.status_text.text()
    assert any(t.startswith("Steered: +50") for t, _c, _b in window.view.labels.overlay)
    np.testing.assert_array_equal(s.trace.residuals[:15], plain.residuals[:15])
    assert len(dock.points) >= 1 and dock.points[50.0] > 0
    # Back to α = 0: exactly the plain run.
    for _ in range(5):
        qtbot.keyClick(dock.alpha, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: s.steering.traced is not None and s.steering.traced.alpha == 0 and not s.busy,
                    timeout=RUN_TIMEOUT)
    np.testing.assert_array_equal(s.trace.residuals, plain.residuals)
    # Bad steering: one sentence, the session as it was.
    from spherescope.core.patching import SteerSpec

    steer = s.steering.spec
    window.controller.set_steer(SteerSpec(15, 2322, 5099, math.nan))
    assert "finite" in window.message_bar.text() and s.steering.spec == steer
    window.controller.set_steer(SteerSpec(31, 2322, 5099, 10.0))
    assert "layers 0..30" in window.message_bar.text() and s.steering.spec == steer
    # Off again: the plain prediction.
    _click_box(qtbot, dock.enabled)
    qtbot.waitUntil(lambda: s.steering.traced is None and not s.busy and s.trace.next_token.text == " Mary",
                    timeout=RUN_TIMEOUT)


def test_export_dock_offers_what_can_be_drawn_and_steer_is_a_figure(qtbot, window, tmp_path):
    """Issue 27: Export Dock once gave a dark screenshot of Steer's widgets, and opened
    Compare's dialog with no second prompt only to fail."""
    from PIL import Image

    from spherescope.widgets.export_dialog import ExportOptions

    def menu():
        window._update_dock_menu(window.docks_menu)
        return {a.data(): a for a in window.docks_menu.actions()}

    items = menu()
    assert not items["closest"].isEnabled() and "run a prompt first" in items["closest"].text()
    type_and_run(qtbot, window)
    s = window.session
    items = menu()
    assert items["closest"].isEnabled() and items["plane"].isEnabled() and items["closest"].text() == "Closest?…"
    assert not items["compare"].isEnabled() and "second prompt" in items["compare"].text()
    assert not items["steer"].isEnabled() and "move α" in items["steer"].text()
    dock = window.lessons["steer"][0]
    window.docks["steer"].raise_()
    _click_box(qtbot, dock.enabled)
    dock.layer.setValue(15)
    qtbot.mouseClick(dock.contrast_button, Qt.MouseButton.LeftButton)
    for alpha in (20, 50):
        dock.alpha.setValue(alpha)
        qtbot.waitUntil(lambda a=alpha: s.steering.traced is not None and s.steering.traced.alpha == a and not s.busy,
                        timeout=RUN_TIMEOUT)
    assert menu()["steer"].isEnabled()
    path = tmp_path / "steer.png"
    assert window.export_figure("steer", ExportOptions(str(path), 960, 540, "slide", False))
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert img.shape == (540, 960, 3), "the figure at the size asked, not a screenshot of the widgets"
    assert img.mean() > 200, "the slide style's white page"
    accent = (np.abs(img - np.array([208, 106, 0])).sum(axis=2) < 60).mean()
    assert accent > 0.001, "the α curve is drawn"
    assert dock.plot.parent() is not None, "the window's own plot stays in its dock"


def test_sweep_alpha_draws_the_whole_curve_in_the_window(qtbot, window, tmp_path):
    """Sweep α: the whole dose-response off the GUI thread, without switching steering
    on; the export and Export Data use it; a new prompt drops it."""
    from PySide6.QtGui import QImage

    from spherescope.widgets.export_dialog import ExportOptions

    type_and_run(qtbot, window)
    s = window.session
    window.docks["steer"].raise_()
    dock = window.lessons["steer"][0]
    assert dock.plot.empty_text() is not None, "no point yet: the plot says how to get one"
    qtbot.mouseClick(dock.sweep_button, Qt.MouseButton.LeftButton)  # no token typed: the plane's contrast
    assert dock.toward.text() == "␣John" and dock.away.text() == "␣Mary"
    qtbot.waitUntil(lambda: s.steering.sweep is not None, timeout=RUN_TIMEOUT)
    assert s.steering.spec is None and s.steering.traced is None, "sweeping does not switch steering on"
    curve = s.steering.sweep
    assert len(curve.alphas) == 21 and curve.alphas[0] < 0 < curve.alphas[-1] and curve.layer == 15
    assert curve.predictions[curve.alphas.index(0.0)][0] == " Mary"
    assert all(np.diff(curve.diffs[::5]) > 0), "toward ' John' raises logit(' John') − logit(' Mary')"
    x, y = dock.swept.getData()
    assert len(x) == 21 and dock.plot.empty_text() is None
    assert dock.dose_curve() is curve
    out = tmp_path / "steer.png"
    assert window.export_figure("steer", ExportOptions(str(out), 960, 540, "slide", False))
    assert QImage(str(out)).width() == 960
    assert window.export_data("steer", str(tmp_path / "steer.csv"))
    assert len((tmp_path / "steer.csv").read_text().splitlines()) == 22
    type_and_run(qtbot, window, "The capital of France is")
    assert s.steering.sweep is None and dock.dose_curve() is None
    assert len(dock.swept.getData()[0] or []) == 0
