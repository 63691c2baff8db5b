"""The article's figures in the window: the plane of ' Mary' and ' John', the honest
token-plane sphere seen from above, the contrast pair, the kept fraction in the picture,
and a first launch that opens on the thesis."""

import numpy as np
from PySide6.QtCore import QPoint, Qt

from gui_support import LOAD_TIMEOUT, RUN_TIMEOUT, changed_fraction, type_and_run, view_pixels

MARY, JOHN = 5099, 2322


def _traced(qtbot, win):
    type_and_run(qtbot, win)
    qtbot.waitUntil(lambda: win.session.current_lesson() is not None, timeout=RUN_TIMEOUT)
    return win.session


def test_the_plane_shows_the_turn_to_mary(qtbot, window):
    s = _traced(qtbot, window)
    assert s.plane_tokens == (MARY, JOHN), "the prediction and its contrast, ready in the plane"
    window.docks["plane"].raise_()
    dock = window.lessons["plane"][0]
    qtbot.waitUntil(lambda: "from ' Mary'" in dock.readout.text(), timeout=RUN_TIMEOUT)
    plane, _ = s.plane_path()
    angle = plane.angle
    assert all(25 < a < 40 for a in angle[1:24]) and angle[30] < 5
    assert "Layer 30: 1.7° from ' Mary'" in dock.readout.text()
    s.layer = 15  # the dock follows after the 3-D view's next frame
    qtbot.waitUntil(lambda: dock.readout.text().startswith("Layer 15: "), timeout=RUN_TIMEOUT)
    assert "the plane keeps" in dock.readout.text()
    # The plot: both arrows labelled, the path with its layer numbers, the marker at layer 15.
    texts = [t.textItem.toPlainText() for t in dock.arrows if hasattr(t, "textItem")]
    assert texts == ["' Mary'", "' John'"]
    assert [t.textItem.toPlainText() for t in dock.layer_labels] == ["0", "5", "10", "15", "20", "25", "30"]
    mx, my = dock.marker.getData()
    x, y = dock._coords
    assert (mx[0], my[0]) == (x[15], y[15])
    # Log radius by default; linear keeps the same angles.
    lx, ly = dock._coords
    dock.scale.setCurrentIndex(dock.scale.findData("linear"))
    assert s.appearance.plane_scale == "linear"
    nx, ny = dock._coords
    np.testing.assert_allclose(np.arctan2(ly[1:], lx[1:]), np.arctan2(ny[1:], nx[1:]), atol=1e-9)
    np.testing.assert_allclose(nx, plane.x)


def test_the_token_plane_sphere_is_honest_and_seen_from_above(qtbot, window):
    from spherescope.core.projection import OUT_OF_PLANE

    s = _traced(qtbot, window)
    before = view_pixels(window)
    window.lessons["plane"][0].down_button.click()
    assert s.basis_kind == "token-plane" and s.basis.labels == (" Mary", " John", OUT_OF_PLANE)
    cam = window.view.camera()
    assert cam["elevation"] == 90 and cam["azimuth"] == -90
    # One third axis for the whole path: the same at every layer, and the kept fraction
    # the view reports is the real |Bh|/|h| (an axis built from the current vector made it 100%).
    kept = s.projected_path().kept
    path = s.path()
    np.testing.assert_allclose(kept, np.linalg.norm(path @ s.basis.axes.T, axis=1) / np.linalg.norm(path, axis=1),
                               rtol=1e-4)
    assert kept[-1] < 0.5
    s.layer = 10
    axes = s.basis.axes.copy()
    s.layer = 30
    np.testing.assert_array_equal(s.basis.axes, axes)
    assert window.binding.overlay_lines()[0][0] == f"Layer 30: this view keeps {100 * kept[-1]:.0f}% of |h| = 885.7"
    after = view_pixels(window)
    assert changed_fraction(before, after) > 0.05


def test_contrast_pair_and_clicking_a_lens_row(qtbot, window):
    s = _traced(qtbot, window)
    s.plane_tokens = ()
    window.basis_dock.kind.setCurrentIndex(window.basis_dock.kind.findData("token-plane"))
    qtbot.mouseClick(window.basis_dock.top2_button, Qt.MouseButton.LeftButton)
    assert s.plane_tokens == (MARY, JOHN)
    assert "␣Mary (5099), ␣John (2322)" in window.basis_dock.chosen.text()
    bars = window.layer_dock.bars
    row = bars.texts().index(" himself")
    qtbot.mouseClick(bars, Qt.MouseButton.LeftButton, pos=QPoint(40, 2 + row * bars.ROW + bars.ROW // 2))
    assert s.plane_tokens == (MARY, s.vocab.lookup["␣himself"]), "the clicked row becomes the second token"
    assert s.basis.labels[:2] == (" Mary", " himself")


def test_kept_fraction_and_legend_are_in_the_picture(qtbot, window):
    s = _traced(qtbot, window)
    lines = [t for t, _c, _b in window.view.labels.overlay]
    assert lines[0].startswith("Layer 30: this view keeps ") and "% of |h|" in lines[0]
    assert lines[1] == "Opacity: share of |h| the view keeps · node size: |h| (log scale)"
    with_overlay = view_pixels(window)
    window.binding.show_overlay = False
    window.binding.on_overlay()
    without = view_pixels(window)
    top_left = (slice(0, 60), slice(0, 500))
    assert changed_fraction(with_overlay[top_left], without[top_left]) > 0.02
    s.appearance.length_as = "radius"
    window.binding.show_overlay = True
    window.binding.on_overlay()
    assert "node radius" in window.view.labels.overlay[1][0]


def test_alpha_moves_the_probabilities_on_the_sphere(qtbot, window):
    s = _traced(qtbot, window)
    label = lambda: next(t for t in window.view.label_texts() if t.startswith("' Mary'"))  # noqa: E731
    assert label() == "' Mary' 34%"
    s.alpha = 2.0
    assert int(label().split()[-1].rstrip("%")) > 34
    s.alpha = 0.5
    assert int(label().split()[-1].rstrip("%")) < 34


def test_first_launch_tells_the_story(qtbot, make_window):
    win = make_window(start=False)
    assert win.first_launch()
    win.start()
    win.tell_the_story()
    qtbot.waitUntil(lambda: win.session.trace is not None and win.session.basis_kind == "token-plane",
                    timeout=LOAD_TIMEOUT)
    assert win.session.prompt == "John and Mary went to the bar. John bought a drink for"
    assert win.session.plane_tokens == (MARY, JOHN)
    assert win.view.camera()["elevation"] == 90
    assert not win.docks["plane"].visibleRegion().isEmpty(), "the plane is the tab in front"
    win.close()
    assert not win.first_launch(), "a prompt was run: the next launch is not a first one"


def test_norms_name_positions_and_the_sink(qtbot, window):
    _traced(qtbot, window)
    window.docks["norms"].raise_()
    norms = window.lessons["norms"][0]
    qtbot.waitUntil(lambda: norms.curve_count() == 13, timeout=RUN_TIMEOUT)
    assert norms.sink_label.isVisible()
    text = norms.sink_label.textItem.toPlainText()
    assert text.startswith("position 0 ('John'): attention sink") and "dimension 507" in text
    # Hovering near the sink's line at layer 20 names it (the others crowd together there).
    vb = norms.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 30 and vb.viewRange()[1][1] > 4, timeout=RUN_TIMEOUT)
    y = np.log10(window.session.all_norms()[20, 0])
    scene_pt = vb.mapViewToScene(pg_point(20, y))
    view_pt = norms.plot.mapFromScene(scene_pt)
    seen = []
    norms.plot.scene().sigMouseMoved.connect(lambda _p: seen.append((norms.hovered, norms.hover.isVisible(),
                                                                      norms.hover.textItem.toPlainText())))
    move_mouse(norms.plot.viewport(), QPoint(int(view_pt.x()), int(view_pt.y())))
    assert seen, "the move reached the plot"
    hovered, shown, text = seen[-1]
    assert hovered == 0 and shown and text.startswith("position 0 ('John'): |h| = "), seen and norms.hover.textItem.toPlainText().startswith("position 12 (' for')")


def move_mouse(widget, pos):
    """A mouse move with no button held, as a pointer passing over the plot makes
    (QTest's mouseMove does not reach a graphics view's hover handling here)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(pos)
    ev = QMouseEvent(QMouseEvent.Type.MouseMove, local, QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_temperature_marks_t1_and_names_the_top_token(qtbot, window):
    _traced(qtbot, window)
    window.docks["confidence"].raise_()
    conf = window.lessons["confidence"][0]
    qtbot.waitUntil(lambda: conf.t_name.textItem.toPlainText() != "", timeout=RUN_TIMEOUT)
    assert conf.t_name.textItem.toPlainText() == "p(' Mary') = 0.34 at T = 1"
    assert conf.t_one.value() == 1.0


def test_a_missing_token_splits_and_offers_the_closest(qtbot, window):
    _traced(qtbot, window)
    window.docks["roundtrip"].raise_()
    rt = window.lessons["roundtrip"][0]
    s = window.session
    qtbot.waitUntil(lambda: s.roundtrip.scores is not None, timeout=RUN_TIMEOUT)
    rt.token.setText("␣NEXT")
    rt._choose()
    qtbot.waitUntil(lambda: "not one token" in window.message_bar.text(), timeout=RUN_TIMEOUT)
    assert "' NEXT' is not one token" in window.message_bar.text() and "' Next'" in window.message_bar.text()
    assert s.vocab.texts[s.roundtrip.token] == " Next"
    # The article's normalised transpose: the token itself scores exactly 1.0.
    rt.mode.setCurrentIndex(rt.mode.findData("normalised"))
    qtbot.waitUntil(lambda: s.roundtrip.scores is not None and s.roundtrip.mode == "normalised"
                    and abs(float(s.roundtrip.scores[s.roundtrip.token]) - 1.0) < 1e-5, timeout=RUN_TIMEOUT)
    assert rt.peaks[0] == s.roundtrip.token
    # One-hot -> the embedding row it selects.
    x, y = rt.onehot_curve.getData()
    assert y.max() == 1 and x[int(np.argmax(y))] == s.roundtrip.token
    assert len(rt.row_curve.getData()[1]) == 576
