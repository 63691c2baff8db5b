"""The one state object the window is built around: a store, not a bus.

It holds what the user chose (widgets write those fields) and what was computed (only
the controller writes those, on the GUI thread, as results arrive). Every field emits
`<name>_changed` on a real change; the few multi-part updates of a trace have their
own signals. Commands (run, cancel, load) go to the controller, never through here.
Selecting a layer or a position never triggers inference: the trace holds every
layer and every position, and the lens for another position is one batched matrix
product done in the worker.
"""

from __future__ import annotations

import numpy as np

from spherescope.core.geometry import top_ids
from spherescope.core.plane import PlanePath, contrast_pair, plane_path
from spherescope.core.projection import Basis, Projected, project, token_plane_basis, trajectory_basis
from spherescope.core.trajectory import LensTop, Token, Trace
from spherescope.core.vocab import Vocab, check_token_ids
from spherescope.state.events import Evented, EventedField, Signal
from spherescope.state.features import FEATURES, Appearance, Comparison, Heads, PromptSets, RoundTrip, Steering

BASIS_KINDS = ("unembedding-pca", "token-plane", "trajectory-pca")


class Session(Evented):
    """Composed of its features' state (appearance, roundtrip, comparison, steering, heads:
    state.features)
    and the fields below. Choices are written by widgets; fields marked computed only by
    the controller (a test reads the mark)."""

    # What the user chose.
    model_ref = EventedField("embedded", computed=True)  # set by the controller's load (the Prompt dock asks it)
    prompt = EventedField("", computed=True)  # set by the controller's run
    position = EventedField(-1)
    layer = EventedField(0)
    basis_kind = EventedField("unembedding-pca")
    plane_tokens = EventedField(())  # token ids, at most 3: the target and contrast everywhere
    show_sublayers = EventedField(False)  # the sphere draws each block's attention and MLP writes
    lens_after_attention = EventedField(False)  # the Layer dock reads the lens after attention, not after the block
    use_contrast = EventedField(True)  # attribution of target minus contrast (the plane's two tokens), or the target alone
    attribution_wanted = EventedField(False)  # the attribution view is open: compute it
    top_k = EventedField(10)
    highlight = EventedField(-1)  # a token pointed at in any view, shown on the sphere (-1: none)
    recent_models = EventedField(())  # model references, most recent first (not the embedded one)
    recent_prompts = EventedField(())
    alpha = EventedField(1.0)  # scale of the vector the unembedding sees (the confidence lesson)
    center_cloud = EventedField(True)
    cloud_space = EventedField("unembedding")  # "unembedding" | "embedding" (untied models)

    # What was computed (written by the controller only).
    model_info = EventedField(None, computed=True)
    vocab = EventedField(None, computed=True)
    tokens = EventedField((), computed=True)
    busy = EventedField("", computed=True)  # "" when idle, else what the worker is doing
    model_stats = EventedField(None, computed=True)  # token norm histograms, tied or not (models.lessons.ModelStats)
    basis_error = EventedField("", computed=True)  # why the chosen basis could not be built ("" when it could)
    sublayers = EventedField(None, computed=True)  # core.trajectory.Sublayers of the trace, when asked for
    attribution = EventedField(None, computed=True)  # core.attribution.Attribution for the followed position
    mid_lens = EventedField(None, computed=True)  # tuple[LensTop]: the lens after each block's attention (blocks 1..L)

    def __init__(self) -> None:
        super().__init__()
        self.appearance = Appearance()
        self.roundtrip = RoundTrip()
        self.comparison = Comparison()
        self.steering = Steering()
        self.heads = Heads()
        self.sets = PromptSets()
        self.trace: Trace | None = None
        self.partial: list[np.ndarray] = []  # (T, d) per layer while a run streams in
        self.partial_norms: list[np.ndarray] = []  # (T,) per layer: the worker's lengths of those rows
        self._frames = 0  # counts changes of `partial` (path() keeps its result until the next)
        self.lens_by_position: dict[int, tuple[LensTop, ...]] = {}
        self.basis: Basis | None = None
        self.trace_started = Signal()
        self.frame_added = Signal()  # (layer,)
        self.trace_finished = Signal()
        self.lens_changed = Signal()
        self.basis_changed = Signal()
        self.lessons_by_position: dict[int, tuple] = {}
        self.lessons_changed = Signal()
        for sig in (self.basis_kind_changed, self.plane_tokens_changed, self.vocab_changed, self.center_cloud_changed,
                    self.cloud_space_changed):
            sig.connect(lambda *_: self.update_basis())

    def snapshot(self) -> "Session":
        """A detached copy: the same choices and results (arrays shared, never written
        in place), none of the receivers. An export draws from one, so a throwaway dock
        can neither outlive its figure inside the live session nor write into it."""
        copy = type(self)()
        self.copy_values_to(copy)
        for name in FEATURES:
            getattr(self, name).copy_values_to(getattr(copy, name))
        copy.trace = self.trace
        copy.partial = list(self.partial)
        copy.partial_norms = list(self.partial_norms)
        copy._frames = self._frames
        copy.lens_by_position = dict(self.lens_by_position)
        copy.lessons_by_position = dict(self.lessons_by_position)
        copy.basis = self.basis
        return copy

    # ---- results (called by the controller on the GUI thread) ----
    def forget_model(self) -> None:
        """Everything computed on the model being replaced: its vectors live in another
        space, and its token ids and layers mean nothing to the next one."""
        self.model_info = None
        self.clear_trace()
        self.vocab = None
        self.model_stats = None
        self.roundtrip.fractions = {}
        self.roundtrip.scores = None
        self.roundtrip.row = None
        self.steering.spec = None
        self.comparison.trace = None
        self.comparison.label = ""
        self.comparison.grid = None
        self.comparison.head_grid = None
        self.steering.sweep = None
        self.sets.traces, self.sets.summary, self.sets.patch, self.sets.hovered = (), None, None, -1
        self.sets.done, self.sets.steer = (0, 0), None

    def set_attribution(self, sublayers, attribution, mid_lens) -> None:
        self.sublayers = sublayers
        self.mid_lens = mid_lens
        self.attribution = attribution

    def followed(self) -> int:
        """The position the views follow: the chosen one, or the last token's."""
        n = len(self.tokens)
        if 0 <= self.position < n:
            return self.position
        return self.trace.position if self.trace is not None else max(n - 1, 0)

    def _reset_trace(self, tokens: tuple[Token, ...]) -> None:
        self.trace = None
        self.partial = []
        self.partial_norms = []
        self._frames += 1
        self.sublayers = None
        self.attribution = None
        self.mid_lens = None
        self.heads.view = None
        self.heads.weights = None
        self.lens_by_position = {}
        self.lessons_by_position = {}
        self.tokens = tokens

    def clear_trace(self) -> None:
        """Forget the trace: a new model's vectors live in another space (another
        width, another tokenizer), so the old path must not meet the new basis."""
        self._reset_trace(())
        self.trace_started.emit()

    def begin_trace(self, tokens: tuple[Token, ...]) -> None:
        self._reset_trace(tokens)
        self._follow_last_if_out_of_range(len(tokens))
        self.trace_started.emit()

    def _follow_last_if_out_of_range(self, n: int) -> None:
        if not (0 <= self.position < n):
            self._position = n - 1  # follow the last token without a re-run signal
            self.position_changed.emit(self._position)

    def add_frame(self, layer: int, residual: np.ndarray, norms: np.ndarray | None = None) -> None:
        if layer != len(self.partial):
            return  # out of order means stale; the controller already filters by job
        self.partial.append(residual)
        self.partial_norms.append(norms if norms is not None else np.linalg.norm(residual, axis=1))
        self._frames += 1
        if self.basis_kind == "trajectory-pca" or (self.basis_kind == "token-plane" and layer == 0):
            self.update_basis(emit_always=False)
        self.frame_added.emit(layer)

    def finish_trace(self, trace: Trace) -> None:
        """The run is done. The frames that streamed in are the trace's own rows: when
        they are all here the path (and its projection) is kept, not rebuilt."""
        streamed = len(self.partial) == len(trace.residuals) and all(
            np.array_equal(a, b) for a, b in zip(self.partial, trace.residuals))
        self.trace = trace
        self.partial = list(trace.residuals)  # views of one array: the streamed copies can go
        if not streamed:
            self.partial_norms = list(trace.norms)
            self._frames += 1
        self.lens_by_position[trace.position] = trace.lens
        self.update_basis(emit_always=False)
        self.trace_finished.emit()
        self.lens_changed.emit()

    def apply_trace(self, trace: Trace) -> None:
        """A whole trace in one step (a re-run that replaces the path, a figure): no
        frame-by-frame replay, one trace_finished."""
        self._reset_trace(trace.tokens)
        self._follow_last_if_out_of_range(len(trace.tokens))
        self.finish_trace(trace)

    def set_lens(self, position: int, lens: tuple[LensTop, ...]) -> None:
        self.lens_by_position[position] = lens
        if position == self.position:
            self.lens_changed.emit()

    # ---- derived views of the state ----
    @property
    def num_layers(self) -> int | None:
        return self.model_info.num_layers if self.model_info is not None else None

    def available_layers(self) -> int:
        return len(self.partial)

    def path(self) -> np.ndarray | None:
        """(n, d) residuals of the followed position, for the layers computed so far
        (read-only: kept until the frames or the position change, since a layer step
        asks for it from several views)."""
        if not self.partial:
            return None
        pos = self.position if 0 <= self.position < self.partial[0].shape[0] else self.partial[0].shape[0] - 1
        key = (pos, self._frames)
        cached = self.__dict__.get("_path_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        path = np.stack([r[pos] for r in self.partial])
        path.flags.writeable = False
        self._path_cache = (key, path)
        return path

    def all_norms(self) -> np.ndarray | None:
        """(n_layers_so_far, T) residual norms, as the worker computed them."""
        if not self.partial_norms:
            return None
        return np.stack(self.partial_norms)

    def set_lessons(self, position: int, lessons: tuple) -> None:
        self.lessons_by_position[position] = lessons
        if position == self.position:
            self.lessons_changed.emit()

    def current_lesson(self):
        les = self.lessons_by_position.get(self.position)
        if les is None or not (0 <= self.layer < len(les)):
            return None
        return les[self.layer]

    def current_lens(self) -> LensTop | None:
        lens = self.lens_by_position.get(self.position)
        if lens is None or not (0 <= self.layer < len(lens)):
            return None
        return lens[self.layer]

    def compare_path(self) -> np.ndarray | None:
        """(L+1, d) the second path at the position its trace follows (the controller asks
        for the first path's position, or the last when the first follows its last)."""
        tr = self.comparison.trace
        return None if tr is None else tr.residuals[:, tr.position]

    def contrast_pair(self) -> tuple[int, int] | None:
        """The prediction and the contrast a person would put in the plane, for the
        followed position (core.plane.contrast_pair): from the model's own ranking of
        the whole vocabulary when that position was traced, else from the lens's top-k."""
        vocab = self.vocab
        if vocab is None or not self.tokens:
            return None
        pos = self.followed()
        if self.trace is not None and pos == self.trace.position:
            ranked = top_ids(self.trace.model_logits, 200)
        else:
            lens = self.lens_by_position.get(pos)
            if not lens:
                return None
            ranked = lens[-1].ids
        return contrast_pair(ranked, [t.id for t in self.tokens], vocab.texts)

    def plane_path(self) -> tuple[PlanePath | None, str]:
        """The followed position's path in the plane of the first two plane tokens (the
        article's figure), with the directions the sphere draws; or None and why not."""
        vocab, path = self.vocab, self.path()
        ids = tuple(int(i) for i in self.plane_tokens)[:2]
        if vocab is None:
            return None, "No model is loaded."
        if len(ids) < 2:
            return None, "Choose two tokens for the plane (Basis and view), or run a prompt to use its prediction and contrast."
        try:
            check_token_ids(ids, len(vocab.texts))
        except ValueError as exc:
            return None, str(exc)
        if path is None:
            return None, "Run a prompt to see its path in this plane."
        dirs = self.cloud_directions()
        try:
            return plane_path(path, dirs[ids[0]], dirs[ids[1]]), ""
        except ValueError as exc:
            return None, str(exc)

    def projected_path(self) -> Projected | None:
        path = self.path()
        if path is None or self.basis is None:
            return None
        cached = self.__dict__.get("_projected_cache")
        if cached is not None and cached[0] is path and cached[1] is self.basis:
            return cached[2]
        projected = project(path, self.basis)
        self._projected_cache = (path, self.basis, projected)
        return projected

    def update_basis(self, emit_always: bool = True) -> None:
        new = self._compute_basis()
        if new is None:
            return
        if emit_always or self.basis is None or new.kind != self.basis.kind or new.axes.shape != self.basis.axes.shape or not np.allclose(new.axes, self.basis.axes):
            self.basis = new
            self.basis_changed.emit()

    def _space(self) -> tuple[np.ndarray, Basis] | None:
        """Token directions and their PCA for the chosen space and centring."""
        v = self.vocab
        if v is None:
            return None
        if self.cloud_space == "embedding" and v.embed is not None:
            d, pca, raw, raw_pca = v.embed
        else:
            d, pca, raw, raw_pca = v.directions, v.pca, v.raw_directions, v.raw_pca
        # The uncentred rows are made on demand (the controller asks the worker); until
        # they come the centred ones stand in.
        return (d, pca) if self.center_cloud or raw is None else (raw, raw_pca)

    def cloud_directions(self) -> np.ndarray | None:
        space = self._space()
        return None if space is None else space[0]

    def cloud_projection(self) -> Projected | None:
        """The cloud in the current basis, from the worker's precomputed copy when the
        basis is one it projected onto."""
        space = self._space()
        if space is None or self.basis is None:
            return None
        for basis, projected in self.vocab.projected:
            if basis is self.basis and len(projected.points) == len(space[0]):
                return projected
        return project(space[0], self.basis)

    def _compute_basis(self) -> Basis | None:
        vocab: Vocab | None = self.vocab
        space = self._space()
        pca = None if space is None else space[1]
        if self.basis_kind == "trajectory-pca":
            path = self.path()
            if path is not None and len(path) >= 3:
                return trajectory_basis(path)
            return pca
        if self.basis_kind == "token-plane" and vocab is not None and self.plane_tokens:
            ids = tuple(int(i) for i in self.plane_tokens)[:3]
            try:
                check_token_ids(ids, len(vocab.texts))
                names = tuple(vocab.texts[i] for i in ids)
                basis = token_plane_basis(self.cloud_directions()[list(ids)], path=self.path(), names=names, token_ids=ids)
            except ValueError as exc:
                self.basis_error = str(exc)
                return pca
            self.basis_error = ""
            return basis
        self.basis_error = ""
        return pca
