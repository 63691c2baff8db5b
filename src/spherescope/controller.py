"""The use cases of the window, on the GUI thread: the only writer of computed state.

Widgets call the controller's methods for commands (load a model, run a prompt,
cancel, open a scene) and write only the session fields that are choices (layer,
position, basis, style...). The controller turns commands and choices into jobs for
the runner (workers.JobRunner) and the results of the latest jobs into session
fields. Adding a kind of model work is one job function (jobs/), one JobKind member
and one method here.

`ModelCatalog` is what widgets may know about models without loading one: a model's
summary from its headers, memory estimates, the devices there are. Widgets reach the
model layer only through this module (an import-linter contract checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from spherescope.core.geometry import top_ids
from spherescope.core.patching import SteerSpec
from spherescope.core.vocab import default_roundtrip_token
from spherescope.core.plane import contrast_pair
from spherescope.jobs import attribution as attribution_jobs
from spherescope.jobs import lessons as lesson_jobs
from spherescope.jobs import load as load_jobs
from spherescope.jobs import patching as patching_jobs
from spherescope.jobs import trace as trace_jobs
from spherescope.jobs.base import JobKind
from spherescope.models import devices
from spherescope.models.errors import ModelError
from spherescope.models.source import EMBEDDED, EMBEDDED_LABEL, resolve
from spherescope.models.summary import ModelSummary, human_bytes, memory_warning, summarize
from spherescope.state.scene import Scene, SceneError, apply_view_options, load_scene
from spherescope.state.session import Session
from spherescope.workers import JobRunner


class Controller(QObject):
    status = Signal(str)  # short status text
    progress = Signal(float)  # 0..1, negative = unknown, >=1 = done
    timing = Signal(str)
    device = Signal(str)
    message = Signal(str, bool)  # (sentence, is_error) for the message bar
    job_cancelled = Signal(str)  # a JobKind value: the worker stopped that job part-way

    def __init__(self, session: Session, load_options: dict | None = None, parent=None,
                 expect: str | None = None, warm: bool = True) -> None:
        """`expect`: the model the first load will ask for, so its tokenizer is parsed
        while the window is still being built."""
        super().__init__(parent)
        self.s = session
        self.load_options = dict(load_options or {})
        self.catalog = ModelCatalog()
        self.runner = JobRunner(self)
        self.runner.cancelled.connect(lambda kind, _job: self.job_cancelled.emit(kind.value))
        self._expect = expect or ""
        if warm:
            self.warm_up()
        session.position_changed.connect(self._on_position)
        session.position_changed.connect(lambda *_: self._tracing or self._compare_again())
        for sig in (session.roundtrip_token_changed, session.roundtrip_mode_changed, session.roundtrip_wanted_changed):
            sig.connect(lambda *_: self.request_roundtrip())
        session.basis_error_changed.connect(lambda text: text and self.message.emit(text, True))
        for sig in (session.attribution_wanted_changed, session.show_sublayers_changed, session.plane_tokens_changed,
                    session.use_contrast_changed, session.lens_after_attention_changed):
            sig.connect(lambda *_: self.request_attribution())
        session.plane_tokens_changed.connect(lambda *_: self._tracing or self._compare_again())
        session.center_cloud_changed.connect(lambda *_: self.request_raw())
        self._rerun: str | None = None
        self._restoring = False  # the load going back to the last model after a failure
        self.ignore_memory_once = False
        self._loaded_name = ""
        self._last_traced: str | None = None
        self.loaded_ref: str | None = None  # the last model that loaded (the one to remember)
        self._loading = False
        self._tracing = False
        self._pending_layer: int | None = None

    def warm_up(self) -> None:
        """Import torch and read ahead the expected model's files on the worker, before
        any load is asked for (a launch does it once the window's first frame is up)."""
        if not getattr(self, "_warmed", False):
            self._warmed = True
            self.runner.submit(JobKind.WARM, load_jobs.warm, self._expect)

    # ---- commands ----
    def notify(self, text: str, is_error: bool = True) -> None:
        """A sentence for the message bar, from any view."""
        self.message.emit(text, is_error)

    def load(self, ref: str, restoring: bool = False) -> None:
        s = self.s
        self._warmed = True  # the load imports what warming would have
        # If this load fails, the last model that loaded comes back (see _on_load_failed)
        # with the last prompt traced on it.
        self._restoring = restoring
        if s.trace is not None and s.prompt:
            self._last_traced = s.prompt
        # The prompt on screen is traced again on the new model once it has loaded
        # (comparing models is the point of switching), unless a run is asked for first.
        self._rerun = s.prompt if s.trace is not None and s.prompt else None
        self._loading = True
        self._tracing = False
        s.model_ref = ref
        s.model_info = None
        s.clear_trace()
        s.vocab = None
        s.model_stats = None
        s.fractions = {}
        s.roundtrip_scores = None
        s.roundtrip_row = None
        s.steer = None  # token ids and layers belong to the old model
        s.compare_trace = None
        s.compare_label = ""
        s.patch_grid = None
        s.steer_sweep = None
        s.busy = "loading"
        self.status.emit(f"Loading {ref}…")
        self.progress.emit(0.0)
        options = dict(self.load_options)
        if self.ignore_memory_once:  # the model dialog's "Load anyway": this load only
            options["ignore_memory"], self.ignore_memory_once = True, False
        self.runner.submit(JobKind.LOAD, load_jobs.load, ref, options,
                           on_partial=self._on_load_partial, on_done=self._on_loaded,
                           on_failed=self._on_load_failed)

    def run(self, prompt: str | None, quiet: bool = False) -> None:
        """Trace `prompt` (with the steering, if any). `quiet`: the path is replaced in one
        step when the run is done instead of growing layer by layer (a steering slider
        being dragged re-runs many times)."""
        s = self.s
        if prompt is None or prompt.strip() == "":
            self.message.emit("The prompt is empty: type some text to trace, then Run.", True)
            return
        self._rerun = None
        same_prompt = prompt == s.prompt
        s.prompt = prompt
        if not same_prompt:
            s.position = -1  # a new prompt follows its last token
            s.steer_sweep = None  # the α curve was the old prompt's
        self._tracing = True
        s.busy = "running"
        self.status.emit("Tracing…" if not self._loading else "Waiting for the model to load…")
        self.runner.submit(JobKind.TRACE, trace_jobs.trace, prompt, s.position, s.top_k, s.steer,
                           depends=(JobKind.LOAD,), on_partial=None if quiet else self._on_trace_partial,
                           on_done=self._on_quiet_trace if quiet else self._on_traced,
                           on_failed=self._on_trace_failed)

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
        s.steer = spec
        if s.prompt and s.trace is not None:
            self.run(s.prompt, quiet=True)

    def request_steer_sweep(self, spec) -> None:
        """The whole dose-response of a steering direction (the Steer dock's Sweep α):
        one run per α, off the GUI thread; the latest request wins."""
        s = self.s
        if spec is None or s.trace is None or not s.prompt:
            self.message.emit("Run a prompt and choose a token to steer toward first.", True)
            return
        pos = s.position if 0 <= s.position < len(s.tokens) else s.trace.position
        self.runner.submit(JobKind.STEER_SWEEP, patching_jobs.steer_sweep, s.prompt, spec, pos,
                           depends=(JobKind.LOAD,), on_done=self._on_steer_sweep, on_failed=self._on_side_failed)

    def _on_steer_sweep(self, curve) -> None:
        self.s.steer_sweep = curve

    def _on_quiet_trace(self, result) -> None:
        s = self.s
        trace = result.trace
        layer = s.layer
        s.begin_trace(trace.tokens)
        for i in range(trace.num_layers + 1):
            s.add_frame(i, trace.residuals[i])
        self._on_traced(result)
        s.layer = min(layer, trace.num_layers)

    # ---- a second prompt, and patching between the two ----
    def compare(self, prompt: str) -> None:
        """Trace a second prompt beside the first ("" stops comparing)."""
        s = self.s
        s.compare_prompt = prompt or ""
        s.patch_grid = None
        s.compare_diffs = None
        if not s.compare_prompt.strip():
            s.compare_trace = None
            s.compare_label = ""
            return
        self._request_compare()

    def _request_compare(self) -> None:
        """(Re)trace the second prompt: its logit differences depend on the first trace
        and on the plane's tokens, so either changing asks again."""
        s = self.s
        if not s.compare_prompt.strip():
            return
        target = int(s.plane_tokens[0]) if s.plane_tokens else None
        contrast = int(s.plane_tokens[1]) if len(s.plane_tokens) > 1 else None
        self.runner.submit(JobKind.COMPARE, trace_jobs.compare, s.compare_prompt, s.position, s.top_k, target, contrast,
                           depends=(JobKind.LOAD, JobKind.TRACE), on_done=self._on_compared,
                           on_failed=self._on_side_failed)

    def _compare_again(self) -> None:
        # Not over a patched run the person clicked to look at.
        if self.s.compare_prompt.strip() and self.s.compare_label in ("", "second prompt"):
            self._request_compare()

    def _on_compared(self, result) -> None:
        self.s.compare_diffs = result.diffs
        self._show_compare(result.trace, "second prompt")

    def _show_compare(self, trace, label: str) -> None:
        self.s.compare_label = label
        self.s.compare_trace = trace

    def run_patching(self) -> None:
        """Every (layer, position) of the prompt on screen (clean) patched into the second
        prompt (corrupt), recovering logit(target) − logit(contrast): the plane's tokens."""
        s = self.s
        if not s.prompt or not s.compare_prompt.strip():
            self.message.emit("Patching needs two prompts: trace one, then type the second (the corrupt one).", True)
            return
        if len(s.plane_tokens) < 2:
            self.message.emit("Patching needs a target and a contrast: the plane's two tokens.", True)
            return
        target, contrast = int(s.plane_tokens[0]), int(s.plane_tokens[1])
        s.patching = True
        self.status.emit("Patching every layer and position…")
        self.runner.submit(JobKind.PATCH, patching_jobs.patch, s.prompt, s.compare_prompt, target, contrast,
                           depends=(JobKind.LOAD,), on_partial=self._on_patch_row, on_done=self._on_patched_grid,
                           on_failed=self._on_patch_failed, on_cancelled=self._on_patch_stopped)

    def cancel_patching(self) -> None:
        if self.s.patching:
            self.runner.cancel(JobKind.PATCH)
            self._on_patch_stopped()
            self.status.emit("Patching cancelled; the rows done are kept.")

    def _on_patch_row(self, payload) -> None:
        import dataclasses

        s = self.s
        if payload[0] == "plan":  # the cost, known before the first patched run
            plan = payload[1]
            self.status.emit(f"Patching: {plan.describe()}. Cancel keeps the rows done.")
            return
        if payload[0] == "start":
            s.patch_grid = payload[1]
            return
        _, layer, row = payload
        grid = s.patch_grid
        if grid is not None:
            matrix = grid.matrix.copy()
            matrix[layer] = row
            s.patch_grid = dataclasses.replace(grid, matrix=matrix)

    def _on_patched_grid(self, grid) -> None:
        self.s.patch_grid = grid
        self.s.patching = False
        self.status.emit(f"Patched {grid.matrix.size} cells: the clean difference {grid.clean_diff:+.2f}, "
                         f"the corrupt one {grid.corrupt_diff:+.2f}")

    def _on_patch_failed(self, message: str) -> None:
        self.s.patching = False
        self.message.emit(message, True)

    def _on_patch_stopped(self) -> None:
        self.s.patching = False

    def show_patched(self, layer: int, position: int) -> None:
        """One cell's patched run as the second path on the sphere, with its lens."""
        s = self.s
        if not s.prompt or not s.compare_prompt.strip():
            return
        self.runner.submit(JobKind.PATCHED, patching_jobs.patched, s.prompt, s.compare_prompt, layer, position,
                           s.top_k, depends=(JobKind.LOAD,),
                           on_done=lambda tr: self._show_compare(tr, f"patched at layer {layer}, position {position}"),
                           on_failed=self._on_side_failed)

    def cancel(self) -> None:
        if self._tracing:
            self.runner.cancel(JobKind.TRACE)
            self._tracing = False
            self.s.busy = "loading" if self._loading else ""
            self.status.emit("Run cancelled.")

    def request_roundtrip(self) -> None:
        s = self.s
        if not s.roundtrip_wanted or s.model_stats is None:
            return
        if not s.fractions and not self.runner.busy(JobKind.FRACTIONS):
            self.runner.submit(JobKind.FRACTIONS, lesson_jobs.fractions, depends=(JobKind.LOAD,),
                               on_partial=self._on_fraction, on_failed=self._on_side_failed)
        if s.roundtrip_token >= 0:
            self.runner.submit(JobKind.ROUNDTRIP, lesson_jobs.roundtrip, s.roundtrip_token, s.roundtrip_mode,
                               depends=(JobKind.LOAD,), on_done=self._on_roundtrip, on_failed=self._on_side_failed)

    def request_attribution(self) -> None:
        """Each block's writes and their direct logit attribution for the followed
        position, when a view shows them: target and contrast are the plane's tokens."""
        s = self.s
        wanted = s.attribution_wanted or s.show_sublayers or s.lens_after_attention
        if not wanted or s.trace is None or not s.plane_tokens or self._tracing:
            return
        target = int(s.plane_tokens[0])
        contrast = int(s.plane_tokens[1]) if s.use_contrast and len(s.plane_tokens) > 1 else None
        pos = s.position if 0 <= s.position < len(s.tokens) else s.trace.position
        self.runner.submit(JobKind.ATTRIBUTE, attribution_jobs.attribute, pos, target, contrast,
                           depends=(JobKind.LOAD, JobKind.TRACE), on_done=self._on_attribution,
                           on_failed=self._on_side_failed)

    def _on_attribution(self, result) -> None:
        sublayers, attribution, mid_lens = result
        s = self.s
        if s.trace is None:
            return
        s.sublayers = sublayers
        s.mid_lens = mid_lens
        s.attribution = attribution

    def choose_roundtrip_token(self, text: str) -> None:
        """The round trip of a typed token. A text the vocabulary lacks as one token is
        split by the tokenizer, and its closest single token is shown instead, saying so."""
        vocab = self.s.vocab
        if vocab is None:
            self.message.emit("No model is loaded yet.", True)
            return
        tid = vocab.token_id(text)
        if tid is not None:
            self.s.roundtrip_token = tid
            return
        if not text.strip():
            self.message.emit("Type a token, e.g. ' next' (with its leading space).", True)
            return
        raw = text.replace("␣", " ")
        self.runner.submit(JobKind.SPLIT, lesson_jobs.split_token, raw, depends=(JobKind.LOAD,),
                           on_done=lambda result: self._on_split(raw, result), on_failed=self._on_side_failed)

    def _on_split(self, text: str, result) -> None:
        pieces, closest = result
        texts = self.s.vocab.texts
        parts = " + ".join(repr(t) for _i, t in pieces)
        self.message.emit(f"{text!r} is not one token in this vocabulary: the tokenizer splits it into {parts}. "
                          f"Showing the closest single token, {texts[closest]!r}.", False)
        self.s.roundtrip_token = closest

    def open_scene(self, path: str) -> Scene | None:
        """Restore a scene's session: model, prompt, position, layer and view options.
        On any problem say why and change nothing; the caller applies the camera and
        docks of the scene it gets back."""
        try:
            scene = load_scene(path)
            resolve(scene.model)  # a missing model path fails here, before anything changes
        except (SceneError, ModelError) as exc:
            self.message.emit(f"Cannot open the scene: {exc}", True)
            return None
        s = self.s
        if s.model_ref != scene.model:
            # First: the old vocabulary goes, so the scene's token ids are never looked up
            # in it; they are checked against the new one when it arrives (_check_tokens).
            self.load(scene.model)
        elif s.vocab is not None:
            # Checked before they reach the session: its listeners index the vocabulary.
            if not self._plane_tokens_fit(scene.plane_tokens, len(s.vocab.texts)):
                scene.plane_tokens = []
        apply_view_options(scene, s)
        s.steer = SteerSpec(**scene.steer) if scene.steer is not None else None
        if s.vocab is not None:
            self._check_steer(len(s.vocab.texts))
        if scene.prompt:
            s.prompt = scene.prompt  # the same prompt keeps the scene's position for the run
            s.position = scene.position
            self._pending_layer = scene.layer
            self.run(scene.prompt)
        self.compare(scene.compare_prompt)
        return scene

    def shutdown(self) -> None:
        self.runner.shutdown()

    # ---- results: the only writes of computed fields ----
    def _on_load_partial(self, payload) -> None:
        tag = payload[0]
        if tag == "progress":
            _, stage, frac = payload
            self.status.emit(stage + "…" if frac < 1 else stage)
            self.progress.emit(frac)
        elif tag == "warning":
            self.message.emit(payload[1], False)
        elif tag == "model":
            _, info, vocab, seconds = payload
            s = self.s
            self._loading = False
            s.model_info = info
            s.busy = "running" if self._tracing else ""
            self.progress.emit(1.0)
            self.device.emit(f"{info.device} · {info.dtype} weights · float32 lens")
            self.status.emit(f"Loaded {info.name}")
            self.timing.emit(f"load {seconds:.1f} s")
            if vocab.embed is None:
                s.cloud_space = "unembedding"  # no input space to show for a tied model
            # Checked before the vocabulary is published: its listeners index it with them.
            self._check_tokens(len(vocab.texts))
            s.vocab = vocab
            self.loaded_ref = s.model_ref
            self._loaded_name = info.name
            self.request_raw()
            # The article's example token for the round trip, when the vocabulary has it.
            s.roundtrip_token = default_roundtrip_token(vocab, missing=-1)  # -1: none until one is typed
            if self._rerun and not self._tracing:
                self.run(self._rerun)

    def _check_tokens(self, n: int) -> None:
        """Token ids that came from outside (a scene) checked against a vocabulary of n
        tokens that has arrived: out of range, they are dropped with a sentence, never indexed."""
        if self.s.plane_tokens and not self._plane_tokens_fit(self.s.plane_tokens, n):
            self.s.plane_tokens = ()
        self._check_steer(n)

    def _plane_tokens_fit(self, tokens, n: int) -> bool:
        from spherescope.core.vocab import check_token_ids

        try:
            check_token_ids(tokens, n)
        except ValueError as exc:
            self.message.emit(f"The scene's plane tokens do not fit this model: {exc} The plane takes the "
                              "prediction and its contrast after the run instead.", True)
            return False
        return True

    def _check_steer(self, n: int) -> None:
        s = self.s
        if s.steer is not None:
            try:
                s.steer.check(s.model_info.num_layers if s.model_info else 10**9, n)
            except ValueError as exc:
                s.steer = None
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
        self._loading = False
        self._tracing = False
        self.s.busy = ""
        self.progress.emit(1.0)
        self.status.emit("Model not loaded")
        back = self.loaded_ref
        if self._restoring or not back or back == self.s.model_ref:
            self.message.emit(message, True)
            return
        # The last model that loaded is still in the worker's memory: going back to it
        # takes a moment, where leaving the window empty would lose the user's work.
        self.message.emit(f"{message} {self._loaded_name or back} stays loaded.", True)
        self.load(back, restoring=True)
        self._rerun = self._last_traced

    def _on_trace_partial(self, payload) -> None:
        s = self.s
        if payload[0] == "tokens":
            s.begin_trace(payload[1])
            return
        _, layer, residual = payload
        before = s.available_layers()
        following = s.layer >= max(0, before - 1)
        s.add_frame(layer, residual)
        # While a run streams in, follow the newest layer unless the user scrubbed away.
        n = s.available_layers()
        if n and (following or s.layer >= n):
            s.layer = n - 1

    def _on_traced(self, result) -> None:
        s = self.s
        trace = result.trace
        self._tracing = False
        s.busy = ""
        s.traced_steer = result.steer
        if not s.plane_tokens and s.vocab is not None:
            # The article's plane is ready to look at: the prediction and its contrast.
            pair = contrast_pair(top_ids(trace.model_logits, 200), [t.id for t in trace.tokens], s.vocab.texts)
            if pair is not None:
                s.plane_tokens = pair
        s.finish_trace(trace)
        if self._pending_layer is not None:
            layer, self._pending_layer = self._pending_layer, None
            s.layer = max(0, min(layer, s.available_layers() - 1))
        self._request_lessons(trace.position)
        self.request_attribution()
        self._compare_again()
        steered = " (steered)" if result.steer is not None else ""
        self.status.emit(f"Next token {trace.next_token.text!r} (p = {trace.next_prob:.2f}){steered}")
        self.timing.emit(f"trace {1000 * result.seconds:.0f} ms · {len(trace.tokens)} tokens")

    def _on_trace_failed(self, message: str) -> None:
        self._tracing = False
        self._pending_layer = None
        self.s.busy = "loading" if self._loading else ""
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

    def _request_lessons(self, pos: int) -> None:
        self.runner.submit(JobKind.LESSONS, lesson_jobs.lessons, pos, depends=(JobKind.LOAD, JobKind.TRACE),
                           on_done=self._on_lessons, on_failed=self._on_side_failed)

    def _on_lens(self, result) -> None:
        if result is not None:
            self.s.set_lens(*result)

    def _on_lessons(self, result) -> None:
        if result is not None:
            self.s.set_lessons(*result)

    def _on_roundtrip(self, result) -> None:
        token, mode, scores, row = result
        if token == self.s.roundtrip_token and mode == self.s.roundtrip_mode:
            self.s.roundtrip_row = row
            self.s.roundtrip_scores = scores

    def _on_fraction(self, payload) -> None:
        _, mode, value = payload
        self.s.fractions = {**self.s.fractions, mode: value}

    def _on_side_failed(self, message: str) -> None:
        self.message.emit(message, True)


@dataclass(frozen=True)
class ModelDescription:
    """What the model dialog shows about a reference before anything is loaded."""

    ref: str
    kind: str | None  # "embedded" | "hub" | "dir" | "gguf", None when it cannot be resolved
    summary: ModelSummary | None
    error: str = ""


class ModelCatalog:
    """Facts about models that widgets may ask for on the GUI thread: headers only,
    never weights, never a cold torch import."""

    embedded = EMBEDDED
    embedded_label = EMBEDDED_LABEL

    def describe(self, ref: str) -> ModelDescription:
        try:
            kind = resolve(ref).kind
        except ModelError as exc:
            return ModelDescription(ref, None, None, str(exc))
        try:
            return ModelDescription(ref, kind, summarize(ref))
        except ModelError as exc:
            return ModelDescription(ref, kind, None, str(exc))

    # Looked up through the module on every call, so a test can stand in for the machine.
    def likely_device(self, requested: str | None) -> str:
        return devices.likely_device(requested)

    def available_memory(self, device: str) -> int | None:
        return devices.available_memory(device)

    def device_choices(self) -> list[tuple[str, str]]:
        return devices.device_choices()

    @staticmethod
    def load_options(device: str | None = None, dtype: str | None = None, allow_pickle: bool = False,
                     ignore_memory: bool = False) -> dict:
        return devices.load_options(device, dtype, allow_pickle, ignore_memory)

    @staticmethod
    def memory_warning(summary: ModelSummary, dtype: str | None, device: str, free: int | None) -> str | None:
        return memory_warning(summary, dtype, device, free)

    @staticmethod
    def human_bytes(n: int | None) -> str:
        return human_bytes(n)
