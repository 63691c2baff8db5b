"""Use cases: a prompt set chosen, traced batch by batch into a bundle on the sphere,
summarised, patched over its pairs, and steered."""

from __future__ import annotations

import numpy as np

from spherescope.core.set_results import summarize
from spherescope.jobs import sets as set_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import Progress, SetBatch


class SetUseCases:
    _set_job = _set_patch_job = _set_steer_job = -1

    def choose_set(self, prompt_set) -> None:
        """A new set (core.prompt_set.PromptSet, or None): the old one's results go."""
        s = self.s.sets
        if s.running:
            self.cancel_set()
        if s.patch_running:
            self.cancel_set_patching()
        if s.steer_running:
            self.cancel_set_steering()
        s.source = prompt_set
        s.traces, s.summary, s.patch, s.steer, s.hovered, s.done = (), None, None, None, -1, (0, 0)

    def run_set(self, prompt_set=None) -> None:
        """Trace the chosen set (or `prompt_set`), a step of prompts at a time."""
        s = self.s.sets
        if prompt_set is not None:
            self.choose_set(prompt_set)
        if s.source is None:
            self.message.emit("Choose a prompt set first: open a CSV or JSONL file, or write a template.", True)
            return
        s.traces, s.summary, s.hovered, s.done = (), None, -1, (0, len(s.source))
        s.running = True
        self.status.emit(f"Tracing {len(s.source)} prompts…")
        # A run superseded by a newer one (or by a new model) is cancelled too: only the
        # latest one's cancellation may stop what the views show.
        mine: dict = {}
        mine["job"] = self._set_job = self.runner.submit(
            JobKind.SET, set_jobs.trace_set, s.source, -1, depends=(JobKind.LOAD,), on_partial=self._on_set_partial,
            on_done=self._on_set_done, on_failed=self._on_set_failed,
            on_cancelled=lambda: mine.get("job") == self._set_job and self._set_stopped(True))

    def cancel_set(self) -> None:
        """Stop tracing the set; what was traced stays, summarised as it stands."""
        if self.s.sets.running:
            self.runner.cancel(JobKind.SET)
            self._set_stopped(True)

    def _on_set_partial(self, payload) -> None:
        s = self.s.sets
        match payload:
            case SetBatch(traces, done, total):
                if traces:
                    s.traces = s.traces + traces
                s.done = (done, total)
                self.progress.emit(done / total if total else -1.0)

    def _on_set_done(self, _count) -> None:
        self._set_stopped(False)

    def _set_stopped(self, cancelled: bool) -> None:
        s = self.s.sets
        if not s.running:
            return
        s.running = False
        s.summary = summarize(list(s.traces)) if s.traces else None
        self.progress.emit(1.0)
        done, total = s.done
        if cancelled:
            self.status.emit(f"Prompt set stopped after {done} of {total} prompts: the figures are of those.")
        else:
            acc = s.summary.accuracy if s.summary is not None else None
            self.status.emit(f"Traced {total} prompts" + ("" if acc is None else f": accuracy {acc:.0%}"))

    def _on_set_failed(self, message: str) -> None:
        s = self.s.sets
        s.running = False
        s.summary = summarize(list(s.traces)) if s.traces else None
        self.progress.emit(1.0)
        self.status.emit("Prompt set failed")
        self.message.emit(message, True)

    def run_set_patching(self, heads: bool = False) -> None:
        """Patching over the set's clean/corrupt pairs: the recovery of the mean difference."""
        s = self.s.sets
        if s.source is None:
            self.message.emit("Choose a prompt set with a corrupt column first.", True)
            return
        s.patch = None
        s.patch_running = True
        mine: dict = {}
        mine["job"] = self._set_patch_job = self.runner.submit(
            JobKind.SET_PATCH, set_jobs.patch_set, s.source, heads, depends=(JobKind.LOAD,),
            on_partial=self._on_set_patch_partial, on_done=self._on_set_patched, on_failed=self._on_set_patch_failed,
            on_cancelled=lambda: mine.get("job") == self._set_patch_job and self._on_set_patch_cancelled())

    def cancel_set_patching(self) -> None:
        if self.s.sets.patch_running:
            self.runner.cancel(JobKind.SET_PATCH)
            self._on_set_patch_cancelled()

    def _on_set_patch_partial(self, payload) -> None:
        match payload:
            case Progress(stage, fraction):
                self.status.emit(stage)
                self.progress.emit(fraction)

    def run_set_steering(self, layer: int, toward: int | None = None, away: int | None = None) -> None:
        """Steering's dose-response over the traced set, after block `layer`: toward a
        token (minus another), or with `toward` None each prompt toward its own
        contrast and away from its own target. α runs out to 3 x the set's median |h|
        there, so the set must have been traced."""
        s = self.s.sets
        summary = s.summary
        if s.source is None or summary is None or summary.final_diff is None:
            self.message.emit("Run a set with a target column first: steering is measured on target − contrast, and "
                              "α is scaled by the set's |h| at that layer.", True)
            return
        if not 0 <= layer < summary.norms.shape[1]:
            self.message.emit(f"Block {layer} is out of range: steer after block 0..{summary.norms.shape[1] - 1}.", True)
            return
        scale = float(np.median(summary.norms[:, layer]))
        s.steer = None
        s.steer_running = True
        mine: dict = {}
        mine["job"] = self._set_steer_job = self.runner.submit(
            JobKind.SET_STEER, set_jobs.steer_set, s.source, layer, toward, away, scale, depends=(JobKind.LOAD,),
            on_partial=self._on_set_patch_partial, on_done=self._on_set_steered, on_failed=self._on_set_steer_failed,
            on_cancelled=lambda: mine.get("job") == self._set_steer_job and self._on_set_steer_cancelled())

    def cancel_set_steering(self) -> None:
        if self.s.sets.steer_running:
            self.runner.cancel(JobKind.SET_STEER)
            self._on_set_steer_cancelled()

    def _on_set_steered(self, curve) -> None:
        s = self.s.sets
        s.steer_running = False
        s.steer = curve
        self.progress.emit(1.0)
        self.status.emit(f"Steered {curve.diffs.shape[1]} prompts at {len(curve.alphas)} values of α")

    def _on_set_steer_failed(self, message: str) -> None:
        self.s.sets.steer_running = False
        self.progress.emit(1.0)
        self.message.emit(message, True)

    def _on_set_steer_cancelled(self) -> None:
        if self.s.sets.steer_running:
            self.s.sets.steer_running = False
            self.progress.emit(1.0)
            self.status.emit("Steering over the set stopped.")

    def _on_set_patched(self, grid) -> None:
        s = self.s.sets
        s.patch_running = False
        s.patch = grid
        self.progress.emit(1.0)
        self.status.emit(f"Patched {grid.n} pairs: clean {grid.clean_diff_mean:+.2f}, "
                         f"corrupt {grid.corrupt_diff_mean:+.2f}")

    def _on_set_patch_failed(self, message: str) -> None:
        self.s.sets.patch_running = False
        self.progress.emit(1.0)
        self.message.emit(message, True)

    def _on_set_patch_cancelled(self) -> None:
        if self.s.sets.patch_running:
            self.s.sets.patch_running = False
            self.progress.emit(1.0)
            self.status.emit("Patching over the set stopped.")
