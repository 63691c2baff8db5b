"""The lesson docks, driven through the real window with the real model."""

import numpy as np
from PySide6.QtCore import Qt

from gui_support import RUN_TIMEOUT, type_and_run


def _ready(qtbot, win):
    type_and_run(qtbot, win)
    qtbot.waitUntil(lambda: win.session.current_lesson() is not None, timeout=RUN_TIMEOUT)
    return win.lessons


def test_closest_lists_follow_layer_and_position(qtbot, window):
    docks = _ready(qtbot, window)
    closest = docks["closest"][0]
    s = window.session
    dot = closest.column_ids(0)
    # The dot-product list is the logit lens's top-k.
    assert dot == [int(i) for i in s.current_lens().ids[:10]]
    assert s.vocab.texts[dot[0]] == " Mary"
    euclid = closest.column_ids(3)
    assert euclid != dot, "the Euclidean 'closest' list is not the model's ranking"
    s.layer = 5  # the dock follows after the 3-D view's next frame
    qtbot.waitUntil(lambda: closest.column_ids(0) != dot, timeout=RUN_TIMEOUT)
    chips = window.prompt_dock.chips
    qtbot.mouseClick(chips.viewport(), Qt.MouseButton.LeftButton, pos=chips.visualItemRect(chips.item(2)).center())
    qtbot.waitUntil(lambda: 2 in s.lessons_by_position, timeout=RUN_TIMEOUT)
    assert closest.column_ids(0) == [int(i) for i in s.current_lesson().closest.by_dot]
    # Clicking a token in the table highlights it on the sphere.
    seen = []
    s.highlight_changed.connect(seen.append)
    rect = closest.table.visualItemRect(closest.table.item(0, 2))
    qtbot.mouseClick(closest.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert seen and seen[-1] == closest.column_ids(2)[0]


def test_alpha_slider_raises_confidence_and_marker(qtbot, window):
    docks = _ready(qtbot, window)
    conf = docks["confidence"][0]
    window.docks["confidence"].raise_()
    qtbot.waitUntil(lambda: bool(conf.bars.rows), timeout=RUN_TIMEOUT)
    p1 = conf.bars.rows[0][2]
    size1 = window.view.marker_size()
    conf.slider.setValue(300)
    assert window.session.alpha == 3.0
    p3 = conf.bars.rows[0][2]
    assert conf.bars.rows[0][0] == window.session.current_lens().ids[0], "the ranking does not change with α"
    assert p3 > p1
    assert window.view.marker_size() > size1
    conf.slider.setValue(0)
    assert conf.bars.rows[0][2] < 0.01, "α = 0: uniform over the vocabulary"
    x, y = conf.t_curve.getData()
    assert y[0] == 1.0 and y[-1] < y[1]


def test_norms_dock_one_line_per_position(qtbot, window):
    docks = _ready(qtbot, window)
    norms = docks["norms"][0]
    window.docks["norms"].raise_()
    qtbot.waitUntil(lambda: norms.curve_count() == 13, timeout=RUN_TIMEOUT)
    window.session.layer = 7  # the cursor follows after the 3-D view's next frame
    qtbot.waitUntil(lambda: norms.cursor.value() == 7, timeout=RUN_TIMEOUT)
    assert "before the final norm" in norms.final.text()


def test_token_norms_and_tied(qtbot, window):
    docks = _ready(qtbot, window)
    qtbot.waitUntil(lambda: window.session.model_stats is not None, timeout=RUN_TIMEOUT)
    tn = docks["token_norms"][0]
    assert tn.longest.count() == 10 and tn.shortest.count() == 10
    seen = []
    window.session.highlight_changed.connect(seen.append)
    item = tn.longest.item(0)
    qtbot.mouseClick(tn.longest.viewport(), Qt.MouseButton.LeftButton, pos=tn.longest.visualItemRect(item).center())
    assert seen == [item.data(Qt.ItemDataRole.UserRole)]
    before = window.binding._cloud.points.copy()
    tn.center.setChecked(False)  # the uncentred directions are made in the worker, then drawn
    qtbot.waitUntil(lambda: window.session.vocab.raw_directions is not None, timeout=RUN_TIMEOUT)
    assert not np.allclose(window.binding._cloud.points, before), "the uncentred cloud is drawn"
    assert "ties its embeddings" in docks["tied"][0].statement.text()


def test_round_trip_peaks_are_forms_of_the_word(qtbot, window):
    docks = _ready(qtbot, window)
    rt = docks["roundtrip"][0]
    assert window.session.roundtrip.scores is None, "nothing is computed for a view nobody opened"
    window.docks["roundtrip"].raise_()
    qtbot.waitUntil(lambda: window.session.roundtrip.scores is not None, timeout=RUN_TIMEOUT)
    words = [window.session.vocab.texts[i].strip().lower() for i in rt.peaks]
    assert window.session.roundtrip.token == rt.peaks[0]
    assert words.count("next") >= 3
    # The peaks' words never print over each other, and the chosen token's is shown.
    shown = [t for t in rt.peak_items if t.isVisible()]
    assert rt.peak_items[0].isVisible() and len(shown) >= 4
    boxes = [t.sceneBoundingRect() for t in shown]
    assert not any(a.intersects(b) for k, a in enumerate(boxes) for b in boxes[k + 1:]), "peak labels overlap"
    area = rt.plot.getPlotItem().getViewBox().sceneBoundingRect()
    assert all(area.contains(b) for b in boxes), "a peak label runs out of the plot"
    transpose_scores = window.session.roundtrip.scores
    rt.mode.setCurrentIndex(rt.mode.findData("pinv"))
    qtbot.waitUntil(lambda: window.session.roundtrip.scores is not transpose_scores, timeout=RUN_TIMEOUT * 2)
    # With far more tokens than dimensions the pseudo-inverse cannot return a one-hot,
    # but the token itself still scores highest, and the other forms drop back.
    assert rt.peaks[0] == window.session.roundtrip.token
    assert not np.allclose(window.session.roundtrip.scores, transpose_scores)


def test_untied_model_shows_cosines_and_lets_the_space_be_chosen(qtbot, make_window, tmp_path):
    from gui_support import LOAD_TIMEOUT
    from tiny_models import save_tiny

    win = make_window(start=False)
    win.start(model=str(save_tiny("gpt-neox", tmp_path / "neox")))  # untied embeddings
    qtbot.waitUntil(lambda: win.session.model_stats is not None and win.session.vocab is not None, timeout=LOAD_TIMEOUT)
    tied = win.lessons["tied"][0]
    win.docks["tied"].raise_()
    assert "separate input and output" in tied.statement.text()
    assert tied.space.isEnabled()
    type_and_run(qtbot, win, "John and Mary")
    before = win.binding._cloud.points.copy()
    tied.space.setCurrentIndex(tied.space.findData("embedding"))
    assert win.session.cloud_space == "embedding"
    assert not np.allclose(win.binding._cloud.points, before)
    assert win.lessons["token_norms"][0].plot.listDataItems().__len__() == 2, "embedding and unembedding histograms"


def test_empty_plots_say_why_and_the_plane_fits_its_data(qtbot, window):
    """Before a run a plot says in a sentence what will fill it (pyqtgraph's empty ±0.5
    axes read as data); after it, the plot is back, and the token plane's locked aspect
    does not widen its range past the data."""
    s = window.session
    qtbot.waitUntil(lambda: s.vocab is not None, timeout=RUN_TIMEOUT)
    norms, plane = window.lessons["norms"][0], window.lessons["plane"][0]
    for key, plot in (("norms", norms.plot), ("plane", plane.plot)):
        window.docks[key].raise_()
        qtbot.waitUntil(lambda p=plot: p.empty_text() is not None, timeout=RUN_TIMEOUT)
        assert not plot.getPlotItem().isVisible()
    assert "Run a prompt" in norms.plot.empty_text()
    type_and_run(qtbot, window)
    window.docks["norms"].raise_()
    qtbot.waitUntil(lambda: norms.plot.empty_text() is None, timeout=RUN_TIMEOUT)
    assert norms.plot.getPlotItem().isVisible()
    window.docks["plane"].raise_()
    qtbot.waitUntil(lambda: plane.plot.empty_text() is None and plane.fit.aspect is not None, timeout=RUN_TIMEOUT)
    window.resize(1700, 950)  # a wide dock: equal scales used to widen the x range to fill it
    (x0, x1), (y0, y1) = plane.plot.getPlotItem().getViewBox().viewRange()
    qtbot.waitUntil(lambda: plane.plot.width() < plane.fit.width() or plane.fit.aspect * plane.fit.height() >= plane.fit.width() * 0.8,
                    timeout=RUN_TIMEOUT)
    (x0, x1), (y0, y1) = plane.plot.getPlotItem().getViewBox().viewRange()
    assert (x1 - x0) / (y1 - y0) < 1.25 * plane.fit.aspect, "the x range is the data's, not the dock's width"
