"""What moved it, in the window: the attribution view, the writes on the sphere, and the
lens after attention, on the article's prompt."""

import numpy as np
from PySide6.QtCore import QPointF, Qt

from gui_support import RUN_TIMEOUT, changed_fraction, type_and_run, view_pixels


def _with_attribution(qtbot, win):
    type_and_run(qtbot, win)
    win.docks["attribution"].raise_()
    qtbot.waitUntil(lambda: win.session.attribution is not None, timeout=RUN_TIMEOUT)
    return win.session, win.lessons["attribution"][0]


def test_attribution_view_shows_block_24_attention_moving_it_to_mary(qtbot, window):
    s, dock = _with_attribution(qtbot, window)
    at = s.attribution
    assert (at.target, at.contrast) == (5099, 2322)
    assert int(np.argmax(at.attn)) + 1 == 24
    assert abs(at.total - at.logit_diff) < 1e-3
    x, h = dock.attn_bars.opts["x"], dock.attn_bars.opts["height"]
    assert len(x) == 30 and float(np.max(h)) == float(at.attn[23])
    assert "What moved logit(' Mary') − logit(' John')" in dock.plot.getPlotItem().titleLabel.text
    assert "Exact at the last layer's norm scale" in dock.note.text()
    # Clicking the tallest bar goes to its layer, and the readout names its heads.
    vb = dock.plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] >= 30 and vb.viewRange()[1][1] >= float(at.attn[23]), timeout=RUN_TIMEOUT)
    scene_pt = vb.mapViewToScene(QPointF(24 - 0.19, float(at.attn[23]) / 2))
    qtbot.mouseClick(dock.plot.viewport(), Qt.MouseButton.LeftButton, pos=dock.plot.mapFromScene(scene_pt))
    assert s.layer == 24
    qtbot.waitUntil(lambda: dock.readout.text().startswith("Block 24: attention +1.96"), timeout=RUN_TIMEOUT)
    assert "H3 +1.81" in dock.readout.text()
    # Without the contrast: the target's logit alone.
    dock.contrast.setChecked(False)
    qtbot.waitUntil(lambda: s.attribution is not None and s.attribution.contrast is None, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: dock.pair.text() == "Target: logit(' Mary')", timeout=RUN_TIMEOUT)


def test_writes_on_the_sphere_and_the_lens_after_attention(qtbot, window):
    s, dock = _with_attribution(qtbot, window)
    s.layer = 24
    before = view_pixels(window)
    dock.on_sphere.setChecked(True)
    assert s.show_sublayers
    items = window.view.trajectory
    qtbot.waitUntil(lambda: items._writes is not None, timeout=RUN_TIMEOUT)
    assert items.mids.pos is not None and len(items.mids.pos) == 30, "the point after each block's attention"
    assert changed_fraction(before, view_pixels(window)) > 0.002
    assert any(t == "Attention writes" for t, _c, _b in window.view.labels.overlay)
    plain = window.layer_dock.bars.texts()
    window.layer_dock.after_attention.setChecked(True)
    qtbot.waitUntil(lambda: "Lens after block 24's attention" in window.layer_dock.readout.text(), timeout=RUN_TIMEOUT)
    assert window.layer_dock.bars.texts() != plain
    s.layer = 0
    assert "no attention before it" in window.layer_dock.readout.text()
