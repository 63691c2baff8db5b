"""File › Export Data (issue 28): each view's numbers as CSV that pandas reads back into
the same numbers the Python API gives for the same prompt."""

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from gui_support import ARTICLE, RUN_TIMEOUT, type_and_run

CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


def test_export_data_of_every_view_reads_back_as_the_apis_numbers(qtbot, window, tmp_path):
    import spherescope

    type_and_run(qtbot, window)
    s = window.session
    mary, john = s.vocab.lookup["␣Mary"], s.vocab.lookup["␣John"]
    s.plane_tokens = (mary, john)
    s.attribution_wanted = True
    window.docks["attribution"].raise_()
    qtbot.waitUntil(lambda: s.attribution is not None and s.attribution.target == mary, timeout=RUN_TIMEOUT)
    window.docks["compare"].raise_()
    dock = window.lessons["compare"][0]
    dock.second.setText(CORRUPT)
    dock.compare()
    qtbot.waitUntil(lambda: s.comparison.trace is not None and s.comparison.diffs is not None, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(dock.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.comparison.grid is not None and not s.comparison.running, timeout=RUN_TIMEOUT * 3)

    m = spherescope.load()  # the window's model, from the process's model cache
    t = m.trace(ARTICLE, tokens=" Mary, John", attribute=" Mary", contrast=" John")
    api = t.to_pandas()
    g = m.patch(ARTICLE, CORRUPT, " Mary", " John").to_pandas()

    def read(view):
        path = tmp_path / f"{view}.csv"
        assert window.export_data(view, str(path)), window.message_bar.text()
        return pd.read_csv(path)

    traj = read("sphere")
    np.testing.assert_allclose(traj["norm"], api["norm"], rtol=1e-5)
    assert list(traj["top_text"].iloc[-3:]) == list(api["top_text"].iloc[-3:])
    plane = read("plane")
    for col in ("plane_x", "plane_y", "plane_kept"):
        np.testing.assert_allclose(plane[col], api[col], rtol=1e-4, atol=1e-6)
    attr = read("attribution")
    np.testing.assert_allclose(attr["attn_dla"].iloc[1:], api["attn_dla"].iloc[1:], atol=1e-4)
    np.testing.assert_allclose(attr["mlp_dla"].iloc[1:], api["mlp_dla"].iloc[1:], atol=1e-4)
    grid = read("patching")
    np.testing.assert_allclose(grid["recovery"], g["recovery"], atol=1e-4)
    assert list(grid.columns) == list(g.columns)
    for view in ("norms", "closest", "confidence", "compare", "token-norms"):
        table = read(view)
        assert len(table) > 0 and not table.empty, view
    json_path = tmp_path / "plane.json"
    assert window.export_data("plane", str(json_path))
    assert pd.read_json(json_path)["plane_x"].iloc[-1] == pytest.approx(api["plane_x"].iloc[-1], rel=1e-4)
    assert not window.export_data("plane", str(tmp_path / "missing" / "x.csv"))
    assert "Export failed" in window.message_bar.text()
