"""The lens readout: a squeezed list shows fewer whole rows, never part of one."""

import numpy as np
from PySide6.QtGui import QImage

from spherescope.widgets.topk_bars import TopKBars


def _bar_rows(widget) -> set[int]:
    """Rows (by index) whose bar area holds the bars' orange or blue."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)
    arr = arr[:, : img.width(), :3].astype(int)
    coloured = ((arr[..., 0] > 200) & (arr[..., 2] < 120)) | ((arr[..., 2] > 200) & (arr[..., 0] < 150))
    ys = np.nonzero(coloured.any(axis=1))[0]
    return {int((y - 2) // TopKBars.ROW) for y in ys}


def test_squeezed_list_shows_whole_rows_only(qtbot):
    bars = TopKBars()
    qtbot.addWidget(bars)
    bars.set_rows([(i, f"tok{i}", 1.0 - i / 20) for i in range(10)])
    assert bars.minimumSizeHint().height() == 5 * TopKBars.ROW + 4, "ten rows must not raise the minimum"
    bars.resize(300, bars.sizeHint().height())
    bars.show()
    qtbot.waitExposed(bars)
    assert bars.visible_rows() == 10 and _bar_rows(bars) == set(range(10))
    bars.resize(300, 5 * TopKBars.ROW + 4 + TopKBars.ROW // 2)  # five and a half rows of room
    qtbot.waitUntil(lambda: bars.height() == 5 * TopKBars.ROW + 4 + TopKBars.ROW // 2)
    assert bars.visible_rows() == 5
    assert _bar_rows(bars) == set(range(5)), "half of the sixth row was drawn"
