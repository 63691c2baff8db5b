"""Use cases: running a prompt (plain or steered), following a position, and what the
finished run asks for next (the lens and lesson numbers of a position)."""

from __future__ import annotations

from spherescope.core.geometry import top_ids
from spherescope.core.plane import contrast_pair
from spherescope.jobs import lessons as lesson_jobs
from spherescope.jobs import trace as trace_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import TraceFrame, TraceTokens


class RunUseCases:
    def run(self, prompt: str | None, quiet: bool = False) -> None:
        """Trace `prompt` (with the steering, if any). `quiet`: the path is replaced in one
        step when the run is done instead of growing layer by layer (a steering slider
        being dragged re-runs many times)."""
        s = self.s
        if prompt is None or prompt.strip() == "":
            self.message.emit("The prompt is empty: type some text to trace, then Run.", True)
            return
        self.flow.rerun = None
        if prompt != s.prompt:
            s.prompt = prompt
            s.position = -1  # a new prompt follows its last token
            s.steering.sweep = None  # the α curve was the old prompt's
        self.flow.tracing = True
        s.busy = "running"
        self.status.emit("Tracing…" if not self.flow.loading else "Waiting for the model to load…")
        # With attribution wanted, the run records the blocks' writes too: one pass, not two.
        self.runner.submit(JobKind.TRACE, trace_jobs.trace, prompt, s.position, s.top_k, s.steering.spec,
                           self._attribution_wanted(), s.heads.wanted, depends=(JobKind.LOAD,),
                           on_partial=None if quiet else self._on_trace_partial,
                           on_done=self._on_quiet_trace if quiet else self._on_traced,
                           on_failed=self._on_trace_failed)

    def run_at(self, prompt: str, position: int, quiet: bool = False) -> None:
        """Trace `prompt` following `position` (-1: its last token), as a scene or a
        figure asks: the position is the prompt's from the start, not reset by it."""
        self.s.prompt = prompt
        self.s.position = position
        self.run(prompt, quiet)

    def set_steer(self, spec) -> None:
        """Steer (core.patching.SteerSpec) or stop steering (None): the prompt on screen is
        traced again with the direction added, replacing the path in one step."""
        s = self.s
        if spec is not None and s.model_info is not None:
            try:
                spec.check(s.model_info.num_layers, s.model_info.vocab_size, len(s.tokens) or None)
            except ValueError as exc:
                self.message.emit(str(exc), True)
                return
        s.steering.spec = spec
        if s.prompt and s.trace is not None:
            self.run(s.prompt, quiet=True)

    def cancel(self) -> None:
        if self.flow.tracing:
            self.runner.cancel(JobKind.TRACE)
            self.flow.tracing = False
            self.s.busy = "loading" if self.flow.loading else ""
            self.status.emit("Run cancelled.")

    def _on_trace_partial(self, payload) -> None:
        s = self.s
        match payload:
            case TraceTokens(tokens):
                s.begin_trace(tokens)
            case TraceFrame(layer, residual, norms):
                following = s.layer >= max(0, s.available_layers() - 1)
                s.add_frame(layer, residual, norms)
                # While a run streams in, follow the newest layer unless the user scrubbed away.
                n = s.available_layers()
                if n and (following or s.layer >= n):
                    s.layer = n - 1

    def _on_quiet_trace(self, result) -> None:
        layer = self.s.layer
        self._on_traced(result, whole=True)
        self.s.layer = min(layer, result.trace.num_layers)

    def _on_traced(self, result, whole: bool = False) -> None:
        """`whole`: the trace arrives in one piece (no frames streamed before it)."""
        s, trace = self.s, result.trace
        self.flow.tracing = False
        s.busy = ""
        s.steering.traced = result.steer
        if not s.plane_tokens and s.vocab is not None:
            # The article's plane is ready to look at: the prediction and its contrast.
            pair = contrast_pair(top_ids(trace.model_logits, 200), [t.id for t in trace.tokens], s.vocab.texts)
            if pair is not None:
                s.plane_tokens = pair
        if whole:
            s.apply_trace(trace)
        else:
            s.finish_trace(trace)
        if self.flow.pending_layer is not None:
            layer, self.flow.pending_layer = self.flow.pending_layer, None
            s.layer = max(0, min(layer, s.available_layers() - 1))
        self._request_lessons(trace.position)
        self.request_attribution()
        self.request_head()
        self._compare_again()
        steered = " (steered)" if result.steer is not None else ""
        self.status.emit(f"Next token {trace.next_token.text!r} (p = {trace.next_prob:.2f}){steered}")
        self.timing.emit(f"trace {1000 * result.seconds:.0f} ms · {len(trace.tokens)} tokens")

    def _on_trace_failed(self, message: str) -> None:
        self.flow.tracing = False
        self.flow.pending_layer = None
        self.s.busy = "loading" if self.flow.loading else ""
        self.status.emit("Run failed")
        if message == trace_jobs.NO_MODEL and self.s.model_info is None and self.s.model_ref:
            return  # the load's own failure is the message to keep on screen
        self.message.emit(message, True)

    def _on_position(self, pos: int) -> None:
        s = self.s
        if pos < 0 or s.trace is None:
            return
        if pos not in s.lens_by_position:
            self.runner.submit(JobKind.LENS, trace_jobs.lens, pos, s.top_k, depends=(JobKind.LOAD, JobKind.TRACE),
                               on_done=self._on_lens, on_failed=self._on_side_failed)
        if pos not in s.lessons_by_position:
            self._request_lessons(pos)
        self.request_attribution()
        self.request_head()

    def _request_lessons(self, pos: int) -> None:
        self.runner.submit(JobKind.LESSONS, lesson_jobs.lessons, pos, depends=(JobKind.LOAD, JobKind.TRACE),
                           on_done=self._on_lessons, on_failed=self._on_side_failed)

    def _on_lens(self, result) -> None:
        if result is not None:
            self.s.set_lens(*result)

    def _on_lessons(self, result) -> None:
        if result is not None:
            self.s.set_lessons(*result)
