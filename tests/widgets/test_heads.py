"""The Heads view in the window, on the article's prompt: block 24's head 3, what it reads
and writes, drawn on the sphere; and per-head patching in Compare and patch."""

import numpy as np
from PySide6.QtCore import QPointF, Qt

from gui_support import RUN_TIMEOUT, changed_fraction, type_and_run, view_pixels


def test_block_24s_top_head_reads_john_and_lowers_john(qtbot, window):
    type_and_run(qtbot, window)
    s = window.session
    before = view_pixels(window)
    window.docks["heads"].raise_()
    s.layer = 24
    qtbot.waitUntil(lambda: s.heads.view is not None and s.heads.view.layer == 24, timeout=RUN_TIMEOUT)
    hv, dock = s.heads.view, window.lessons["heads"][0]
    assert hv.head == 3, "the block's head with the largest term"
    assert hv.reads(1)[0][0] == 8 and s.tokens[8].text == " John"
    assert s.vocab.texts[hv.lowers[0][0]] == " John" and abs(hv.dla - 1.81) < 0.01
    qtbot.waitUntil(lambda: dock.title.text().startswith("Block 24, head 3 at ' for'"), timeout=RUN_TIMEOUT)
    assert "it lowers ' John' -1.82" in dock.readout.text() and "+1.81" in dock.readout.text()
    assert len(dock.bars.opts["height"]) == len(s.tokens) and len(dock.arcs) >= 2
    assert "head 24.3 writes (|w| 78)" in window.view.label_texts()
    qtbot.waitUntil(lambda: changed_fraction(before, view_pixels(window)) > 0.001, timeout=RUN_TIMEOUT)
    # A click on the heatmap's row of head 0 shows that head.
    vb = dock.heat_plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: vb.viewRange()[1][1] >= 9, timeout=RUN_TIMEOUT)
    pt = dock.heat_plot.mapFromScene(vb.mapViewToScene(QPointF(2.0, 0.5)))
    qtbot.mouseClick(dock.heat_plot.viewport(), Qt.MouseButton.LeftButton, pos=pt)
    qtbot.waitUntil(lambda: s.heads.view is not None and s.heads.view.head == 0, timeout=RUN_TIMEOUT)
    assert dock.title.text().startswith("Block 24, head 0")


def test_patch_heads_fills_a_blocks_by_heads_grid(qtbot, window):
    type_and_run(qtbot, window)
    s = window.session
    window.docks["compare"].raise_()
    dock = window.lessons["compare"][0]
    dock.second.setText("John and Mary went to the bar. Mary bought a drink for")
    qtbot.keyClick(dock.second, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: s.comparison.trace is not None, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(dock.heads_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.comparison.head_grid is not None and not s.comparison.heads_running,
                    timeout=4 * RUN_TIMEOUT)
    m = s.comparison.head_grid.matrix
    assert m.shape == (30, 9) and np.isfinite(m).all()
    assert np.unravel_index(int(np.argmax(m)), m.shape) == (23, 3), "block 24 head 3 recovers most"
    assert "block 24 head 3 recovers most" in dock.readout.text()


def test_a_top_head_in_what_moved_it_opens_in_heads(qtbot, window):
    type_and_run(qtbot, window)
    s = window.session
    window.docks["attribution"].raise_()
    qtbot.waitUntil(lambda: s.attribution is not None, timeout=RUN_TIMEOUT)
    s.layer = 24
    adock = window.lessons["attribution"][0]
    qtbot.waitUntil(lambda: 'href="head:24.3"' in adock.readout.text(), timeout=RUN_TIMEOUT)
    adock.readout.linkActivated.emit("head:24.4")  # what a click on the link sends (not the top head)
    qtbot.waitUntil(lambda: s.heads.view is not None and (s.heads.view.layer, s.heads.view.head) == (24, 4),
                    timeout=RUN_TIMEOUT)
    dock = window.lessons["heads"][0]
    assert dock.isVisible() and s.heads.head == 4 and dock.head.value() == 4
