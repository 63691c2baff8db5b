"""The Prompt set view in the window, on SmolLM2: a template typed in, the set run in
batches into a bundle on the sphere, the layer slider moving it, hovering a prompt,
stopping a run, a bad file, and patching over the pairs."""

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from gui_support import RUN_TIMEOUT, changed_fraction, image_pixels, type_and_run, view_pixels


def _dock(window):
    window.docks["sets"].raise_()
    return window.lessons["sets"][0]


def _fill_template(qtbot, dock, names="Mary, John, Tom, Anna", limit=12):
    qtbot.mouseClick(dock.template_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(dock, "_dialog", None) is not None and dock._dialog.isVisible())
    d = dock._dialog
    d.slots.setPlainText(f"A: {names}\nB: {names}\nplace: store, park")
    d.limit.setValue(limit)
    qtbot.waitUntil(lambda: d.preview.text().startswith(f"{limit} prompts"))
    qtbot.mouseClick(d.buttons.button(d.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.s.sets.source is not None and len(dock.s.sets.source) == limit)


def test_a_template_set_runs_into_a_bundle_the_slider_moves(qtbot, window):
    type_and_run(qtbot, window)
    s = window.session
    dock = _dock(window)
    before = view_pixels(window)
    _fill_template(qtbot, dock)
    assert "template: 12 prompts with target, contrast, corrupt" in dock.name.text()
    qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.sets.summary is not None and not s.sets.running, timeout=4 * RUN_TIMEOUT)
    summary = s.sets.summary
    assert summary.n == 12 and summary.accuracy == 1.0 and summary.final_diff_mean > 2
    assert "the target wins in 100%" in dock.readout.text()
    assert int(np.argmax(summary.attn.mean(0))) == 23, "block 24's attention moves the name over the set"
    assert dock.lens.plot.empty_text() is None and dock.dla.plot.empty_text() is None
    view = window.view
    assert view.bundle.points.shape == (12, 31, 3) and view.bundle.lines.visible()
    assert any("Thin: 12 prompts of template" in line for line, *_ in window.binding.overlay_lines())
    qtbot.waitUntil(lambda: changed_fraction(before, view_pixels(window)) > 0.002, timeout=RUN_TIMEOUT)
    # The layer slider moves every prompt's dot and the median together.
    s.layer = 2
    early = view.bundle.current_dots().copy()
    s.layer = 28
    late = view.bundle.current_dots()
    assert np.all(np.linalg.norm(late - early, axis=1) > 1e-3)
    assert dock.lens.cursor.value() == 28
    # Hovering a prompt's dot shows its prompt beside it.
    k = 5
    dot = late[k]
    hit = _screen_point(view, dot)
    qtbot.waitUntil(lambda: view.bundle_hit(hit.x(), hit.y()) >= 0)
    view.bundle_hovered.emit(view.bundle_hit(hit.x(), hit.y()))
    qtbot.waitUntil(lambda: s.sets.hovered >= 0)
    shown = s.sets.traces[s.sets.hovered]
    assert any(t.startswith(shown.prompt[:20]) for t in view.labels.texts("bundle"))
    assert view.bundle.hover.visible()
    # Switching the bundle off takes it off the sphere.
    dock.shown.click()
    assert not s.sets.shown and not view.bundle.lines.visible()
    _the_set_in_the_plane(qtbot, window)


def _the_set_in_the_plane(qtbot, window):
    """The Plane view draws the set: every prompt in its own plane, quartile arcs, the median."""
    from spherescope.core.set_plane import set_plane

    s = window.session
    window.docks["plane"].raise_()
    plane = window.lessons["plane"][0]
    qtbot.waitUntil(lambda: plane.set_check.isEnabled())
    single = image_pixels(plane.plot.grab().toImage())
    assert plane.plot.getPlotItem().titleLabel.text.startswith("Plane of")
    qtbot.mouseClick(plane.set_check, Qt.MouseButton.LeftButton)
    assert s.sets.in_plane
    qtbot.waitUntil(lambda: "each in its own plane" in plane.readout.text())
    sp = set_plane(s.sets.summary)
    assert plane.plot.getPlotItem().titleLabel.text == "12 prompts, each in its own plane"
    assert plane.set_layer.thin.isVisible() and plane.set_layer.arcs.isVisible()
    assert f"a median {sp.angle[1, 28]:.0f}° from its target" in plane.readout.text()
    x, y = plane.path.getData()
    assert len(x) == 31
    np.testing.assert_allclose(np.degrees(np.arctan2(y, x)), sp.angle[1], atol=1e-3)  # log radius keeps angles
    def redrawn():
        now = image_pixels(plane.plot.grab().toImage())
        h, w = min(now.shape[0], single.shape[0]), min(now.shape[1], single.shape[1])
        return changed_fraction(single[:h, :w], now[:h, :w]) > 0.01

    qtbot.waitUntil(redrawn)
    s.layer = 5
    qtbot.waitUntil(lambda: plane.readout.text().startswith("Layer 5, 12 prompts"))
    qtbot.mouseClick(plane.set_check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: plane.readout.text().startswith("Layer 5:"))
    assert not plane.set_layer.thin.isVisible()


def _screen_point(view, p):
    from PySide6.QtGui import QVector3D

    q = view.screen_matrix().map(QVector3D(*[float(x) for x in p])).toPointF()
    return QPoint(int(round(q.x())), int(round(q.y())))


def test_stop_keeps_what_was_traced_and_a_bad_file_keeps_the_set(qtbot, window, tmp_path):
    s = window.session
    dock = _dock(window)
    path = tmp_path / "many.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["prompt", "target", "contrast"])
        for k in range(300):
            w.writerow([f"Story {k}: When Mary and John went to the store, John gave a drink to", " Mary", " John"])
    assert dock.open_file(str(path))
    assert "many.csv: 300 prompts" in dock.name.text()
    qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.sets.done[0] >= 64, timeout=4 * RUN_TIMEOUT)
    qtbot.mouseClick(dock.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not s.sets.running)
    done = len(s.sets.traces)
    assert 64 <= done < 300 and s.sets.summary.n == done
    assert f"(stopped: {done} of 300)" in dock.readout.text()
    # A bad file: a sentence, and the set on screen stays.
    bad = tmp_path / "bad.csv"
    bad.write_text("text,answer\nhello,x\n")
    assert not dock.open_file(str(bad))
    qtbot.waitUntil(lambda: "no 'prompt' column" in window.message_bar.text())
    assert len(s.sets.source) == 300 and s.sets.summary.n == done
    # The window still runs prompts afterwards.
    type_and_run(qtbot, window, "The capital of France is")
    assert s.trace.next_token.text == " Paris"


@pytest.mark.parametrize("bad_target", [" Mary Ann"])
def test_a_set_with_a_bad_row_says_which_and_runs_nothing(qtbot, window, tmp_path, bad_target):
    s = window.session
    dock = _dock(window)
    path = tmp_path / "s.jsonl"
    path.write_text('{"prompt": "When Mary and John went to the store, John gave a drink to", "target": " Mary"}\n'
                    f'{{"prompt": "The cat sat on the", "target": "{bad_target}"}}\n')
    assert dock.open_file(str(path))
    qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "row 2" in window.message_bar.text(), timeout=RUN_TIMEOUT)
    assert "is 2 tokens, not one" in window.message_bar.text()
    assert not s.sets.running and s.sets.traces == ()


def test_patch_pairs_over_the_set(qtbot, window):
    s = window.session
    dock = _dock(window)
    _fill_template(qtbot, dock, names="Mary, John, Tom", limit=4)
    assert dock.patch_button.isEnabled()
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.sets.patch is not None and not s.sets.patch_running, timeout=6 * RUN_TIMEOUT)
    g = s.sets.patch
    assert g.n == 4 and g.matrix.shape[0] == 31 and g.clean_diff_mean > 1 > -1 > g.corrupt_diff_mean
    assert g.matrix[-1, -1] == pytest.approx(1.0, abs=1e-3)
    assert dock.patch.plot.empty_text() is None
    assert "Patching 4 pairs" in dock.readout.text() or "pairs" in dock.readout.text()


def test_heads_over_the_pairs_and_steering_the_set(qtbot, window, tmp_path):
    from PySide6.QtGui import QImage

    from spherescope.widgets.figures import save_lesson_figure

    s = window.session
    dock = _dock(window)
    _fill_template(qtbot, dock, names="Mary, John, Tom", limit=4)
    page = dock.steer
    dock.pages.setCurrentIndex(2)
    assert s.sets.page == "steer" and not page.sweep_button.isEnabled(), "steering needs the traced set's |h|"
    qtbot.mouseClick(dock.heads_button, Qt.MouseButton.LeftButton)
    assert s.sets.page == "heads" and dock.pages.currentIndex() == 1
    qtbot.waitUntil(lambda: s.sets.patch is not None and not s.sets.patch_running, timeout=6 * RUN_TIMEOUT)
    heads = s.sets.patch.heads_matrix
    assert heads.shape == (30, 9) and dock.heads.plot.empty_text() is None
    b, h = np.unravel_index(int(np.argmax(heads)), heads.shape)
    assert f"block {b + 1} head {h} recovers most" in dock.readout.text()
    # Steering: run the set, then sweep each prompt toward its own contrast.
    qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.sets.summary is not None and not s.sets.running, timeout=4 * RUN_TIMEOUT)
    dock.pages.setCurrentIndex(2)
    assert page.sweep_button.isEnabled() and page.layer.maximum() == 30
    page.layer.setValue(20)
    qtbot.mouseClick(page.sweep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.sets.steer is not None and not s.sets.steer_running, timeout=4 * RUN_TIMEOUT)
    curve = s.sets.steer
    assert curve.layer == 20 and curve.toward is None and curve.accuracy[0] == 1.0 > curve.accuracy[-1]
    assert page.plot.plot.empty_text() is None
    assert "Steering after block 20, each prompt toward its contrast" in dock.readout.text()
    assert "The majority flips by α = " in dock.readout.text()
    # A token that is not one: a sentence, and the sweep on screen stays.
    page.direction.setCurrentIndex(1)
    assert page.toward.isVisible()
    page.toward.setText("Zzqx Mary")
    qtbot.mouseClick(page.sweep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "No token 'Zzqx Mary'" in window.message_bar.text())
    assert s.sets.steer is curve
    # The slide shows the page on screen as its third plot, nothing cut at the edges.
    out = save_lesson_figure(s, "set", tmp_path / "set.png", 1920, 1080, "slide",
                             annotations=frozenset({"title", "model"}))
    px = image_pixels(QImage(str(out)))
    assert px.shape == (1080, 1920, 3)
    right = px[:, -12:].reshape(-1, 3)
    assert (np.abs(right.astype(int) - px[5, -5].astype(int)).sum(1) > 60).mean() < 0.01, "a plot runs off the slide"
