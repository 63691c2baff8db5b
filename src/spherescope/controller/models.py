"""Use cases: loading a model (or adopting one in memory), and what arrives with it."""

from __future__ import annotations

from spherescope.core.vocab import check_token_ids, default_roundtrip_token
from spherescope.jobs import load as load_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import ModelReady, Notice, Progress


class ModelUseCases:
    def warm_up(self) -> None:
        """Import torch and read ahead the expected model's files on the worker, before
        any load is asked for (a launch does it once the window's first frame is up)."""
        if not getattr(self, "_warmed", False):
            self._warmed = True
            self.runner.submit(JobKind.WARM, load_jobs.warm, self._expect)

    def load(self, ref: str, restoring: bool = False) -> None:
        self._begin_load(ref, restoring)
        options = dict(self.load_options)
        if self.ignore_memory_once:  # the model dialog's "Load anyway": this load only
            options["ignore_memory"], self.ignore_memory_once = True, False
        self.runner.submit(JobKind.LOAD, load_jobs.load, ref, options,
                           on_partial=self._on_load_partial, on_done=self._on_loaded,
                           on_failed=self._on_load_failed)

    def adopt(self, model, tokenizer, name: str = "in-memory model") -> None:
        """A transformers model and tokenizer the caller already holds (the Python API)."""
        self._begin_load(name, False)
        self.runner.submit(JobKind.LOAD, load_jobs.adopt, model, tokenizer, name,
                           on_partial=self._on_load_partial, on_done=self._on_loaded,
                           on_failed=self._on_load_failed)

    def _begin_load(self, ref: str, restoring: bool) -> None:
        s, flow = self.s, self.flow
        self._warmed = True  # the load imports what warming would have
        # If this load fails, the last model that loaded comes back (see _on_load_failed)
        # with the last prompt traced on it.
        flow.restoring = restoring
        if s.trace is not None and s.prompt:
            flow.last_traced = s.prompt
        # The prompt on screen is traced again on the new model once it has loaded
        # (comparing models is the point of switching), unless a run is asked for first.
        flow.rerun = s.prompt if s.trace is not None and s.prompt else None
        flow.loading, flow.tracing = True, False
        s.model_ref = ref
        s.forget_model()
        s.busy = "loading"
        self.status.emit(f"Loading {ref}…")
        self.progress.emit(0.0)

    def _on_load_partial(self, payload) -> None:
        match payload:
            case Progress(stage, frac):
                self.status.emit(stage + "…" if frac < 1 else stage)
                self.progress.emit(frac)
            case Notice(text):
                self.message.emit(text, False)
            case ModelReady():
                self._on_model_ready(payload)

    def _on_model_ready(self, ready: ModelReady) -> None:
        s, flow, info, vocab = self.s, self.flow, ready.info, ready.vocab
        flow.loading = False
        s.model_info = info
        s.busy = "running" if flow.tracing else ""
        self.progress.emit(1.0)
        self.device.emit(f"{info.device} · {info.dtype} weights · float32 lens")
        self.status.emit(f"Loaded {info.name}")
        self.timing.emit(f"load {ready.seconds:.1f} s")
        if vocab.embed is None:
            s.cloud_space = "unembedding"  # no input space to show for a tied model
        # Checked before the vocabulary is published: its listeners index it with them.
        self._check_tokens(len(vocab.texts))
        s.vocab = vocab
        self.loaded_ref = s.model_ref
        flow.loaded_name = info.name
        self.request_raw()
        # The article's example token for the round trip, when the vocabulary has it.
        s.roundtrip.token = default_roundtrip_token(vocab, missing=-1)  # -1: none until one is typed
        if flow.rerun and not flow.tracing:
            self.run(flow.rerun)

    def _check_tokens(self, n: int) -> None:
        """Token ids that came from outside (a scene) checked against a vocabulary of n
        tokens that has arrived: out of range, they are dropped with a sentence, never indexed."""
        if self.s.plane_tokens and not self._plane_tokens_fit(self.s.plane_tokens, n):
            self.s.plane_tokens = ()
        self._check_steer(n)

    def _plane_tokens_fit(self, tokens, n: int) -> bool:
        try:
            check_token_ids(tokens, n)
        except ValueError as exc:
            self.message.emit(f"The scene's plane tokens do not fit this model: {exc} The plane takes the "
                              "prediction and its contrast after the run instead.", True)
            return False
        return True

    def _check_steer(self, n: int) -> None:
        s = self.s
        if s.steering.spec is not None:
            try:
                s.steering.spec.check(s.model_info.num_layers if s.model_info else 10**9, n)
            except ValueError as exc:
                s.steering.spec = None
                self.message.emit(f"The scene's steering does not fit this model: {exc}", True)

    def request_raw(self) -> None:
        """The cloud shown uncentred needs the vocabulary's uncentred directions, which
        are made on demand in the worker; the centred cloud stands in until they come."""
        v = self.s.vocab
        if v is None or self.s.center_cloud or v.raw_directions is not None:
            return
        self.status.emit("Computing the uncentred token directions…")
        self.runner.submit(JobKind.RAW, load_jobs.raw_space, v, depends=(JobKind.LOAD,),
                           on_done=lambda done, asked=v: self._on_raw(asked, done), on_failed=self._on_side_failed)

    def _on_raw(self, asked, done) -> None:
        if self.s.vocab is asked:  # still the same model's vocabulary
            self.s.vocab = done
            self.status.emit("")

    def _on_loaded(self, result) -> None:
        self.s.model_stats = result.stats
        self.request_roundtrip()

    def _on_load_failed(self, message: str) -> None:
        flow = self.flow
        flow.loading = flow.tracing = False
        self.s.busy = ""
        self.progress.emit(1.0)
        self.status.emit("Model not loaded")
        back = self.loaded_ref
        if flow.restoring or not back or back == self.s.model_ref:
            self.message.emit(message, True)
            return
        # The last model that loaded is still in the worker's memory: going back to it
        # takes a moment, where leaving the window empty would lose the user's work.
        self.message.emit(f"{message} {flow.loaded_name or back} stays loaded.", True)
        self.load(back, restoring=True)
        flow.rerun = flow.last_traced
