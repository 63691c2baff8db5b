"""Use cases: a second prompt beside the first, activation patching between the two,
and one patched run drawn on the sphere."""

from __future__ import annotations

import dataclasses

from spherescope.jobs import patching as patching_jobs
from spherescope.jobs import trace as trace_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import PatchPlanned, PatchRow, PatchStarted


class ComparisonUseCases:
    def compare(self, prompt: str) -> None:
        """Trace a second prompt beside the first ("" stops comparing)."""
        s = self.s
        s.comparison.prompt = prompt or ""
        s.comparison.grid = None
        s.comparison.head_grid = None
        s.comparison.diffs = None
        if not s.comparison.prompt.strip():
            s.comparison.trace = None
            s.comparison.label = ""
            return
        self._request_compare()

    def _request_compare(self) -> None:
        """(Re)trace the second prompt: its logit differences depend on the first trace
        and on the plane's tokens, so either changing asks again."""
        s = self.s
        if not s.comparison.prompt.strip():
            return
        target = int(s.plane_tokens[0]) if s.plane_tokens else None
        contrast = int(s.plane_tokens[1]) if len(s.plane_tokens) > 1 else None
        self.runner.submit(JobKind.COMPARE, trace_jobs.compare, s.comparison.prompt, s.position, s.top_k, target, contrast,
                           depends=(JobKind.LOAD, JobKind.TRACE), on_done=self._on_compared,
                           on_failed=self._on_side_failed)

    def _compare_again(self) -> None:
        # Not over a patched run the person clicked to look at.
        if self.s.comparison.prompt.strip() and self.s.comparison.label in ("", "second prompt"):
            self._request_compare()

    def _on_compared(self, result) -> None:
        self.s.comparison.diffs = result.diffs
        self._show_compare(result.trace, "second prompt")

    def _show_compare(self, trace, label: str) -> None:
        self.s.comparison.label = label
        self.s.comparison.trace = trace

    def run_patching(self) -> None:
        """Every (layer, position) of the prompt on screen (clean) patched into the second
        prompt (corrupt), recovering logit(target) − logit(contrast): the plane's tokens."""
        s = self.s
        if not s.prompt or not s.comparison.prompt.strip():
            self.message.emit("Patching needs two prompts: trace one, then type the second (the corrupt one).", True)
            return
        if len(s.plane_tokens) < 2:
            self.message.emit("Patching needs a target and a contrast: the plane's two tokens.", True)
            return
        target, contrast = int(s.plane_tokens[0]), int(s.plane_tokens[1])
        s.comparison.running = True
        self.status.emit("Patching every layer and position…")
        self.runner.submit(JobKind.PATCH, patching_jobs.patch, s.prompt, s.comparison.prompt, target, contrast,
                           depends=(JobKind.LOAD,), on_partial=self._on_patch_row, on_done=self._on_patched_grid,
                           on_failed=self._on_patch_failed, on_cancelled=self._on_patch_stopped)

    def run_head_patching(self) -> None:
        """Each head's output at the last position patched from the prompt on screen
        (clean) into the second (corrupt): a blocks x heads grid, row by row."""
        s = self.s
        if not s.prompt or not s.comparison.prompt.strip() or len(s.plane_tokens) < 2:
            self.message.emit("Patching heads needs two prompts and the plane's two tokens (target and contrast).",
                              True)
            return
        s.comparison.heads_running = True
        self.status.emit("Patching every head at the last position…")
        self.runner.submit(JobKind.HEAD_PATCH, patching_jobs.head_patch, s.prompt, s.comparison.prompt,
                           int(s.plane_tokens[0]), int(s.plane_tokens[1]), depends=(JobKind.LOAD,),
                           on_partial=self._on_head_row, on_done=self._on_head_grid,
                           on_failed=self._on_patch_failed, on_cancelled=self._on_patch_stopped)

    def cancel_patching(self) -> None:
        c = self.s.comparison
        if c.running or c.heads_running:
            self.runner.cancel(JobKind.PATCH)
            self.runner.cancel(JobKind.HEAD_PATCH)
            self._on_patch_stopped()
            self.status.emit("Patching cancelled; the rows done are kept.")

    def _on_head_row(self, payload) -> None:
        self._fill_grid("head_grid", payload)

    def _fill_grid(self, name: str, payload) -> None:
        """A grid's partial result into `session.comparison.<name>`: the empty grid, then
        one row at a time (a new grid object each time, so its listeners hear it)."""
        c = self.s.comparison
        match payload:
            case PatchStarted(grid):
                setattr(c, name, grid)
            case PatchRow(index, row) if getattr(c, name) is not None:
                grid = getattr(c, name)
                matrix = grid.matrix.copy()
                matrix[index] = row
                setattr(c, name, dataclasses.replace(grid, matrix=matrix))

    def _on_head_grid(self, grid) -> None:
        self.s.comparison.head_grid = grid
        self.s.comparison.heads_running = False
        self.status.emit(f"Patched {grid.matrix.size} heads at the last position")

    def show_patched_head(self, block: int, head: int) -> None:
        """One head's patched run (1-based block) as the second path on the sphere."""
        self._show_patched_run(patching_jobs.patched_head, block, head, f"head {block}.{head} patched")

    def _show_patched_run(self, job, a: int, b: int, label: str) -> None:
        s = self.s
        if not s.prompt or not s.comparison.prompt.strip():
            return
        self.runner.submit(JobKind.PATCHED, job, s.prompt, s.comparison.prompt, a, b, s.top_k, depends=(JobKind.LOAD,),
                           on_done=lambda tr: self._show_compare(tr, label), on_failed=self._on_side_failed)

    def _on_patch_row(self, payload) -> None:
        if isinstance(payload, PatchPlanned):
            self.status.emit(f"Patching: {payload.plan.describe()}. Cancel keeps the rows done.")
        else:
            self._fill_grid("grid", payload)

    def _on_patched_grid(self, grid) -> None:
        self.s.comparison.grid = grid
        self.s.comparison.running = False
        self.status.emit(f"Patched {grid.matrix.size} cells: the clean difference {grid.clean_diff:+.2f}, "
                         f"the corrupt one {grid.corrupt_diff:+.2f}")

    def _on_patch_failed(self, message: str) -> None:
        self._on_patch_stopped()
        self.message.emit(message, True)

    def _on_patch_stopped(self) -> None:
        self.s.comparison.running = False
        self.s.comparison.heads_running = False

    def show_patched(self, layer: int, position: int) -> None:
        """One cell's patched run as the second path on the sphere, with its lens."""
        self._show_patched_run(patching_jobs.patched, layer, position, f"patched at layer {layer}, position {position}")
