"""Use cases: the analyses of the followed position (direct logit attribution, the
embed -> unembed round trip, a steering direction's dose-response)."""

from __future__ import annotations

from spherescope.jobs import attribution as attribution_jobs
from spherescope.jobs import heads as head_jobs
from spherescope.jobs import lessons as lesson_jobs
from spherescope.jobs import patching as patching_jobs
from spherescope.jobs.base import JobKind
from spherescope.jobs.payloads import FractionDone


class AnalysisUseCases:
    def _attribution_wanted(self) -> bool:
        s = self.s
        return bool(s.attribution_wanted or s.show_sublayers or s.lens_after_attention or s.heads.wanted)

    def request_attribution(self) -> None:
        """Each block's writes and their direct logit attribution for the followed
        position, when a view shows them: target and contrast are the plane's tokens."""
        s = self.s
        if not self._attribution_wanted() or s.trace is None or not s.plane_tokens or self.flow.tracing:
            return
        target = int(s.plane_tokens[0])
        contrast = int(s.plane_tokens[1]) if s.use_contrast and len(s.plane_tokens) > 1 else None
        self.runner.submit(JobKind.ATTRIBUTE, attribution_jobs.attribute, s.followed(), target, contrast,
                           depends=(JobKind.LOAD, JobKind.TRACE), on_done=self._on_attribution,
                           on_failed=self._on_side_failed)

    def _on_attribution(self, result) -> None:
        if self.s.trace is not None:
            self.s.set_attribution(*result)

    def request_head(self) -> None:
        """The Heads view's head of the block at the current layer, at the followed
        position: what it reads, writes and says (its term: against the plane's pair)."""
        s = self.s
        if not s.heads.wanted or s.trace is None or self.flow.tracing or not 1 <= s.layer <= s.trace.num_layers:
            return
        target = int(s.plane_tokens[0]) if s.plane_tokens else None
        contrast = int(s.plane_tokens[1]) if target is not None and s.use_contrast and len(s.plane_tokens) > 1 else None
        self.runner.submit(JobKind.HEAD, head_jobs.head, s.followed(), s.layer, s.heads.head, target, contrast,
                           depends=(JobKind.LOAD, JobKind.TRACE), on_done=self._on_head,
                           on_failed=self._on_side_failed)

    def _on_head(self, result) -> None:
        layer, _head, weights, view = result
        if self.s.trace is not None and layer == self.s.layer:
            self.s.heads.weights = weights
            self.s.heads.view = view

    def request_roundtrip(self) -> None:
        s = self.s
        if not s.roundtrip.wanted or s.model_stats is None:
            return
        if not s.roundtrip.fractions and not self.runner.busy(JobKind.FRACTIONS):
            self.runner.submit(JobKind.FRACTIONS, lesson_jobs.fractions, depends=(JobKind.LOAD,),
                               on_partial=self._on_fraction, on_failed=self._on_side_failed)
        if s.roundtrip.token >= 0:
            self.runner.submit(JobKind.ROUNDTRIP, lesson_jobs.roundtrip, s.roundtrip.token, s.roundtrip.mode,
                               depends=(JobKind.LOAD,), on_done=self._on_roundtrip, on_failed=self._on_side_failed)

    def _on_roundtrip(self, result) -> None:
        token, mode, scores, row = result
        if token == self.s.roundtrip.token and mode == self.s.roundtrip.mode:
            self.s.roundtrip.row = row
            self.s.roundtrip.scores = scores

    def _on_fraction(self, payload: FractionDone) -> None:
        self.s.roundtrip.fractions = {**self.s.roundtrip.fractions, payload.mode: payload.value}

    def choose_roundtrip_token(self, text: str) -> None:
        """The round trip of a typed token. A text the vocabulary lacks as one token is
        split by the tokenizer, and its closest single token is shown instead, saying so."""
        vocab = self.s.vocab
        if vocab is None:
            self.message.emit("No model is loaded yet.", True)
            return
        tid = vocab.token_id(text)
        if tid is not None:
            self.s.roundtrip.token = tid
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
        self.s.roundtrip.token = closest

    def request_steer_sweep(self, spec, alphas=None, mark: bool = True) -> None:
        """The whole dose-response of a steering direction (the Steer dock's Sweep α,
        --view steer): one run per α, off the GUI thread; the latest request wins.
        `alphas`: the values to sweep (None: round ones out to 3 x |h|); `mark`: the
        spec's own α is among them and marked."""
        s = self.s
        if spec is None or s.trace is None or not s.prompt:
            self.message.emit("Run a prompt and choose a token to steer toward first.", True)
            return
        self.runner.submit(JobKind.STEER_SWEEP, patching_jobs.steer_sweep, s.prompt, spec, s.followed(), alphas, mark,
                           depends=(JobKind.LOAD,), on_done=self._on_steer_sweep, on_failed=self._on_side_failed)

    def _on_steer_sweep(self, curve) -> None:
        self.s.steering.sweep = curve
