"""Per-head patching's heatmap: blocks (rows, 1..L) x heads (columns), each cell the
recovery when that head's clean output at the last position is put into the corrupt
run. Part of the Compare and patch tab; hover a cell for its value, click it for
that patched run on the sphere."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from spherescope.core.text import quoted
from spherescope.render.styles import PlotTheme
from spherescope.widgets.lessons.common import plot_widget, recovery_heatmap

UPSAMPLE = 8  # a few pixels per cell, so viewers that smooth images keep the edges


class HeadGridPlot:
    def __init__(self, theme: PlotTheme, on_cell) -> None:
        
        th = self.theme = theme
        self.on_cell = on_cell  # (block from 1, head) -> None
        self.grid = None
        self.plot = plot_widget(th, "Heads patched at the last position", "block", "head")
        self.plot.setObjectName("headPatchingHeatmap")
        self.plot.showGrid(x=False, y=False)
        self.heat, _bar = recovery_heatmap(self.plot, th, axisOrder="row-major")
        self.cell = pg.TextItem("", color=th.text, anchor=(0, 1), fill=pg.mkBrush(*th.plate))
        self.cell.setZValue(20)
        self.cell.setVisible(False)
        self.plot.addItem(self.cell, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_move)

    def show(self, grid, vocab, running: bool) -> str:
        """Draw `grid` (core.patching.HeadGrid or None); returns a sentence for the readout."""
        self.grid = grid
        if grid is None:
            self.heat.clear()
            why = ("Patching the heads…" if running else
                   "Press Patch heads: each cell copies one head's output at the last position of the first run "
                   "into the second.")
            self.plot.set_empty(why)
            return ""
        self.plot.set_empty(None)
        m = np.nan_to_num(grid.matrix, nan=0.0)
        self.heat.setImage(np.kron(m, np.ones((UPSAMPLE, UPSAMPLE))), levels=(-1.0, 1.0))
        self.heat.setRect(-0.5, 0.5, m.shape[1], m.shape[0])
        pi = self.plot.getPlotItem()
        step = 1 if m.shape[1] <= 12 else max(2, m.shape[1] // 8)
        pi.getAxis("bottom").setTicks([[(h, str(h)) for h in range(0, m.shape[1], step)]])
        pi.setRange(xRange=(-0.5, m.shape[1] - 0.5), yRange=(0.5, m.shape[0] + 0.5), padding=0)
        names = (quoted(vocab.texts[grid.target]), quoted(vocab.texts[grid.contrast])) if vocab is not None else ("", "")
        # Short: beside the residual grid in the dock, a long title widened the plot off the window.
        self.plot.setTitle(f"Heads patched: recovery of {names[0]} − {names[1]}", color=self.theme.title, size="9pt")
        done = grid.rows_done()
        if done < m.shape[0]:
            return f"Heads: {done} of {m.shape[0]} blocks done."
        b, h = np.unravel_index(int(np.argmax(np.abs(m))), m.shape)
        return f"Heads: block {b + 1} head {h} recovers most ({m[b, h]:+.2f})."

    def _cell_at(self, scene_pos):
        g = self.grid
        vb = self.plot.getPlotItem().getViewBox()
        if g is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        pt = vb.mapSceneToView(scene_pos)
        block, head = int(round(pt.y())), int(round(pt.x()))
        if 1 <= block <= g.matrix.shape[0] and 0 <= head < g.matrix.shape[1]:
            return block, head, pt
        return None

    def _on_move(self, scene_pos) -> None:
        hit = self._cell_at(scene_pos)
        if hit is None or np.isnan(self.grid.matrix[hit[0] - 1, hit[1]]):
            self.cell.setVisible(False)
            return
        block, head, pt = hit
        m = self.grid.matrix
        self.cell.setText(f"block {block} head {head}: {m[block - 1, head]:+.2f}")
        self.cell.setAnchor((0 if head < m.shape[1] / 2 else 1, 1 if block < m.shape[0] / 2 else 0))
        self.cell.setPos(pt.x(), pt.y())
        self.cell.setVisible(True)

    def _on_click(self, ev) -> None:
        hit = self._cell_at(ev.scenePos())
        if hit is not None and self.on_cell is not None:
            self.on_cell(hit[0], hit[1])
