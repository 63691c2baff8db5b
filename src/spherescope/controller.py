"""Connects the session to the model worker; runs on the GUI thread.

Widgets only ask (session.run_requested, model_ref changes, position changes); this
controller turns requests into worker jobs and worker results into session updates,
dropping any result that is not from the latest job.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from spherescope.state.session import Session
from spherescope.workers import WorkerHandle


class Controller(QObject):
    status = Signal(str)  # short status text
    progress = Signal(float)  # 0..1, negative = unknown, >=1 = done
    timing = Signal(str)
    device = Signal(str)
    job_cancelled = Signal(str)  # "load" | "trace": the worker stopped a job part-way

    def __init__(self, session: Session, load_options: dict | None = None, parent=None,
                 expect: str | None = None) -> None:
        super().__init__(parent)
        self.s = session
        self.load_options = dict(load_options or {})
        self.handle = WorkerHandle(self, expect=expect)
        w = self.handle.worker
        w.progress.connect(self._on_progress)
        w.loaded.connect(self._on_loaded)
        w.vocab_ready.connect(self._on_vocab)
        w.tokens_ready.connect(self._on_tokens)
        w.frame.connect(self._on_frame)
        w.traced.connect(self._on_traced)
        w.lens_ready.connect(self._on_lens)
        w.failed.connect(self._on_failed)
        w.stats_ready.connect(self._on_stats)
        w.lessons_ready.connect(self._on_lessons)
        w.roundtrip_ready.connect(self._on_roundtrip)
        w.fraction_ready.connect(self._on_fraction)
        session.roundtrip_token_changed.connect(lambda _t: self.request_roundtrip())
        session.roundtrip_mode_changed.connect(lambda _m: self.request_roundtrip())
        session.roundtrip_wanted_changed.connect(lambda _w: self.request_roundtrip())
        w.cancelled.connect(self._on_cancelled)
        w.warned.connect(self._on_warned)
        session.model_ref_changed.connect(self.load)
        session.run_requested.connect(self.run)
        session.cancel_requested.connect(self.cancel)
        session.position_changed.connect(self._on_position)
        self._model_job = 0
        self._trace_job = 0
        self._rerun: str | None = None
        self._loading = False
        self._tracing = False
        self.frames_received = 0

    # ---- requests ----
    def load(self, ref: str) -> None:
        # The prompt on screen is traced again on the new model once it has loaded
        # (comparing models is the point of switching), unless a run is asked for first.
        self._rerun = self.s.prompt if self.s.trace is not None and self.s.prompt else None
        self._loading = True
        self._tracing = False
        self.s.model_info = None
        self.s.clear_trace()
        self.s.vocab = None
        self.s.model_stats = None
        self.s.fractions = {}
        self.s.roundtrip_scores = None
        self.s.fractions_changed.emit()
        self.s.roundtrip_changed.emit()
        self.s.busy = "loading"
        self.status.emit(f"Loading {ref}…")
        self.progress.emit(0.0)
        self._model_job = self.handle.load(ref, **self.load_options)

    def run(self, prompt: str) -> None:
        if prompt is None or prompt.strip() == "":
            self.s.message.emit("The prompt is empty: type some text to trace, then Run.", True)
            return
        self._rerun = None
        same_prompt = prompt == self.s.prompt
        self.s.prompt = prompt
        if not same_prompt:
            self.s.position = -1  # a new prompt follows its last token
        self._tracing = True
        self.frames_received = 0
        self.s.busy = "running"
        self.status.emit("Tracing…" if not self._loading else "Waiting for the model to load…")
        self._trace_job = self.handle.trace(prompt, self.s.position, self.s.top_k)

    def cancel(self) -> None:
        if self._tracing:
            self.handle.cancel_trace()
            self._tracing = False
            self.s.busy = "loading" if self._loading else ""
            self.status.emit("Run cancelled.")

    def shutdown(self) -> None:
        self.handle.shutdown()

    # ---- results ----
    def _on_progress(self, job: int, stage: str, frac: float) -> None:
        if self.handle.is_latest(job, "model"):
            self.status.emit(stage + "…" if frac < 1 else stage)
            self.progress.emit(frac)

    def _on_warned(self, job: int, text: str) -> None:
        if self.handle.is_latest(job, "model"):
            self.s.message.emit(text, False)

    def _on_loaded(self, job: int, info, seconds: float) -> None:
        if not self.handle.is_latest(job, "model"):
            return
        self._loading = False
        self.s.model_info = info
        self.s.busy = "running" if self._tracing else ""
        self.progress.emit(1.0)
        self.device.emit(f"{info.device} · {info.dtype} weights · float32 lens")
        self.status.emit(f"Loaded {info.name}")
        self.timing.emit(f"load {seconds:.1f} s")

    def _on_vocab(self, job: int, vocab) -> None:
        if self.handle.is_latest(job, "model"):
            self.s.vocab = vocab
            # The article's example token for the round trip, when the vocabulary has it.
            self.s.roundtrip_token = vocab.lookup.get("␣NEXT", vocab.lookup.get("␣next", -1))
            if self._rerun and not self._tracing:
                self.run(self._rerun)

    def _on_tokens(self, job: int, tokens) -> None:
        if self.handle.is_latest(job, "trace"):
            self.s.begin_trace(tokens)

    def _on_frame(self, job: int, layer: int, residual) -> None:
        if self.handle.is_latest(job, "trace"):
            self.frames_received += 1
            self.s.add_frame(layer, residual)

    def _on_traced(self, job: int, trace, seconds: float) -> None:
        if not self.handle.is_latest(job, "trace"):
            return
        self._tracing = False
        self.s.busy = ""
        self.s.finish_trace(trace)
        self.handle.lessons(trace.position)
        nxt = trace.next_token.text
        self.status.emit(f"Next token {nxt!r} (p = {trace.next_prob:.2f})")
        self.timing.emit(f"trace {1000 * seconds:.0f} ms · {len(trace.tokens)} tokens")

    def _on_position(self, pos: int) -> None:
        if pos >= 0 and self.s.trace is not None and pos not in self.s.lens_by_position:
            self.handle.lens(pos, self.s.top_k)
        if pos >= 0 and self.s.trace is not None and pos not in self.s.lessons_by_position:
            self.handle.lessons(pos)

    def request_roundtrip(self) -> None:
        if not self.s.roundtrip_wanted or self.s.model_stats is None:
            return
        if not self.s.fractions:
            self.handle.fractions()
        if self.s.roundtrip_token >= 0:
            self.handle.roundtrip(self.s.roundtrip_token, self.s.roundtrip_mode)

    def _on_stats(self, job: int, stats) -> None:
        if self.handle.is_latest(job, "model"):
            self.s.model_stats = stats
            self.request_roundtrip()

    def _on_lessons(self, job: int, position: int, lessons) -> None:
        if self.handle.is_latest(job, "lessons"):
            self.s.set_lessons(position, lessons)

    def _on_roundtrip(self, job: int, token: int, mode: str, scores) -> None:
        if self.handle.is_latest(job, "roundtrip") and token == self.s.roundtrip_token and mode == self.s.roundtrip_mode:
            self.s.roundtrip_scores = scores
            self.s.roundtrip_changed.emit()

    def _on_fraction(self, job: int, mode: str, fraction: float) -> None:
        if self.handle.is_latest(job, "model"):
            self.s.fractions[mode] = fraction
            self.s.fractions_changed.emit()

    def _on_lens(self, job: int, position: int, lens) -> None:
        if self.handle.is_latest(job, "lens"):
            self.s.set_lens(position, lens)

    def _on_failed(self, job: int, kind: str, message: str) -> None:
        if kind == "load" and self.handle.is_latest(job, "model"):
            self._loading = False
            self._tracing = False
            self.s.busy = ""
            self.progress.emit(1.0)
            self.status.emit("Model not loaded")
        elif kind == "trace" and self.handle.is_latest(job, "trace"):
            self._tracing = False
            self.s.busy = "loading" if self._loading else ""
            self.status.emit("Run failed")
        elif kind in ("lens", "lessons", "roundtrip"):
            pass
        else:
            return
        self.s.message.emit(message, True)

    def _on_cancelled(self, job: int, kind: str) -> None:
        # The requester already moved on (a newer job or a Cancel); this only reports it.
        self.job_cancelled.emit(kind)
