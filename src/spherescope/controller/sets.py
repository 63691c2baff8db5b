"""Use cases: a prompt set chosen, traced batch by batch into a bundle on the sphere,
summarised, patched over its pairs, and steered."""

from __future__ import annotations

import numpy as np

from spherescope.core.set_results import summarize
from spherescope.jobs import sets as set_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import Progress, SetBatch


class SetUseCases:
    _set_job = -1

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
        self._run_set_job(JobKind.SET_PATCH, "patch", set_jobs.patch_set, s.source, heads,
                          said=lambda g: f"Patched {g.n} pairs: clean {g.clean_diff_mean:+.2f}, "
                                         f"corrupt {g.corrupt_diff_mean:+.2f}")

    def cancel_set_patching(self) -> None:
        self._cancel_set_job(JobKind.SET_PATCH, "patch")

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
        self._run_set_job(JobKind.SET_STEER, "steer", set_jobs.steer_set, s.source, layer, toward, away, scale,
                          said=lambda c: f"Steered {c.diffs.shape[1]} prompts at {len(c.alphas)} values of α")

    def cancel_set_steering(self) -> None:
        self._cancel_set_job(JobKind.SET_STEER, "steer")

    # ---- a patch or steer job over the set: one lifecycle for both ----
    _NOUNS = {"patch": "Patching", "steer": "Steering"}

    @property
    def _set_jobs(self) -> dict:
        """JobKind -> the latest job submitted for it, per controller."""
        return self.__dict__.setdefault("_latest_set_jobs", {})

    def _run_set_job(self, kind: JobKind, field: str, fn, *args, said) -> None:
        """Run `fn` over the set; its result goes to session.sets.<field>, its state to
        <field>_running. Only the latest job's cancellation may clear that state (a
        superseded job's arrives late)."""
        s = self.s.sets
        setattr(s, field, None)
        setattr(s, f"{field}_running", True)
        mine: dict = {}

        def done(result) -> None:
            setattr(s, f"{field}_running", False)
            setattr(s, field, result)
            self.progress.emit(1.0)
            self.status.emit(said(result))

        def failed(message: str) -> None:
            setattr(s, f"{field}_running", False)
            self.progress.emit(1.0)
            self.message.emit(message, True)

        mine["job"] = job = self.runner.submit(
            kind, fn, *args, depends=(JobKind.LOAD,), on_partial=self._on_set_job_progress, on_done=done,
            on_failed=failed, on_cancelled=lambda: mine.get("job") == self._set_jobs.get(kind)
            and self._set_job_stopped(field))
        self._set_jobs[kind] = job

    def _cancel_set_job(self, kind: JobKind, field: str) -> None:
        if getattr(self.s.sets, f"{field}_running"):
            self.runner.cancel(kind)
            self._set_job_stopped(field)

    def _set_job_stopped(self, field: str) -> None:
        s = self.s.sets
        if getattr(s, f"{field}_running"):
            setattr(s, f"{field}_running", False)
            self.progress.emit(1.0)
            self.status.emit(f"{self._NOUNS[field]} over the set stopped.")

    def _on_set_job_progress(self, payload) -> None:
        match payload:
            case Progress(stage, fraction):
                self.status.emit(stage)
                self.progress.emit(fraction)
