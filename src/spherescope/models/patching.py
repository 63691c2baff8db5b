"""Intervening on the residual stream: activation patching across layers and positions,
one patched run, and steering by adding a direction.

Patching is batched: for each layer, one forward pass of the corrupt prompt with one
batch row per position, row p having the clean run's residual at position p put in
at that layer. A (layer, position) whose clean and corrupt residuals are bit for bit
the same (the same token at layer 0; any position before the prompts first differ,
since attention only looks back) changes nothing: its recovery is 0 without a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from spherescope.core.patching import PatchGrid, SteerSpec, recovery, steering_direction
from spherescope.core.trajectory import Trace
from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.loaded import LoadedModel
from spherescope.models.trace import first_tensor


class Replace:
    """Hooks that put vectors into the residual at one layer: `rows[b]` is a list of
    (position, vector) for batch row b; or `add` adds a vector at positions."""

    def __init__(self, loaded: LoadedModel, layer: int) -> None:
        n = loaded.info.num_layers
        if not 0 <= layer <= n:
            raise PromptError(f"Layer {layer} is out of range: the model has layers 0..{n}.")
        self.loaded, self.layer, self.n = loaded, layer, n
        self.handles: list = []

    def _edit(self, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __enter__(self):
        loaded, layer = self.loaded, self.layer

        def pre(module, args, kwargs):
            if args:
                return (self._edit(args[0]), *args[1:]), kwargs
            kwargs = dict(kwargs)
            kwargs["hidden_states"] = self._edit(kwargs["hidden_states"])
            return args, kwargs

        def post(module, args, output):
            if isinstance(output, torch.Tensor):
                return self._edit(output)
            first = first_tensor(output)
            return (self._edit(first), *output[1:])

        # The last layer is edited at the last block's output, not at the final norm's
        # input: the lens calls that same norm module on every layer afterwards, and a
        # hook there edited the lens's rows too (steered twice, or a patch shaped for
        # the model's batch meeting the lens's (layers, d) rows).
        if layer == 0:
            self.handles.append(loaded.blocks[0].register_forward_pre_hook(pre, with_kwargs=True))
        else:
            self.handles.append(loaded.blocks[layer - 1].register_forward_hook(post))
        return self

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


class _Put(Replace):
    def __init__(self, loaded, layer, rows: list[list[tuple[int, torch.Tensor]]]) -> None:
        super().__init__(loaded, layer)
        self.rows = rows

    def _edit(self, h):
        h = h.clone()
        for b, changes in enumerate(self.rows):
            for p, v in changes:
                h[b, p] = v.to(h.dtype)
        return h


class Steer(Replace):
    """Adds `vector` to the residual after a layer, at every position or at `position`."""

    def __init__(self, loaded, layer: int, vector: np.ndarray, position: int | None = None) -> None:
        super().__init__(loaded, layer)
        self.vector = torch.from_numpy(np.asarray(vector, np.float32))
        self.position = position

    def _edit(self, h):
        v = self.vector.to(h.device, h.dtype)
        if self.position is None:
            return h + v
        h = h.clone()
        h[:, self.position] = h[:, self.position] + v
        return h


def steering(loaded: LoadedModel, spec: SteerSpec | None, n_tokens: int):
    """The hook that adds a steering vector while it is entered, or nothing (None). The
    direction is the unit vector of the effective unembedding row of `spec.toward`
    (minus `spec.away`'s): the final norm's gain folded in, as the logits see it."""
    from contextlib import nullcontext

    if spec is None:
        return nullcontext()
    vector = steer_vector(loaded, spec, n_tokens)
    check_alpha(loaded, spec.alpha)
    position = None if spec.position is None else spec.position % n_tokens
    return Steer(loaded, spec.layer, vector, position)


def steer_vector(loaded: LoadedModel, spec: SteerSpec, n_tokens: int) -> np.ndarray:
    """α x the unit steering direction (float32, (d,)), checked against the model."""
    try:
        spec.check(loaded.info.num_layers, loaded.info.vocab_size, n_tokens)
        rows = loaded.unembedding_rows([spec.toward] if spec.away is None else [spec.toward, spec.away])
        direction = steering_direction(rows[0], None if spec.away is None else rows[1])
    except ValueError as exc:
        raise PromptError(str(exc)) from None
    return (float(spec.alpha) * direction).astype(np.float32)


def check_alpha(loaded: LoadedModel, alpha: float) -> None:
    dtype = next(loaded.model.parameters()).dtype
    limit = alpha_limit(dtype)
    if abs(float(alpha)) > limit:
        raise PromptError(f"α = {alpha:g} is too large for this model's {str(dtype).replace('torch.', '')} "
                          f"arithmetic: the norms square the residual, so |α| must stay under {limit:.1e}.")


def alpha_limit(dtype: torch.dtype) -> float:
    """The largest |α| a steered residual can carry in this dtype: its entries must
    stay representable, and their squares (every norm takes them, in float32 at
    least) finite; a tenth of that leaves room for what the blocks add."""
    big = float(torch.finfo(dtype).max) if dtype.is_floating_point else float(torch.finfo(torch.float32).max)
    return min(big, float(torch.finfo(torch.float32).max) ** 0.5) / 10


def _ids(loaded: LoadedModel, tokens) -> torch.Tensor:
    device = next(loaded.model.parameters()).device
    return torch.tensor([[t.id for t in tokens]], device=device)


@torch.no_grad()
def _last_logits(loaded: LoadedModel, ids: torch.Tensor) -> torch.Tensor:
    """The model's own logits at the last position, float32, for each batch row. Only
    the last position goes through the head (logits_to_keep): the whole prompt's
    logits are T x V floats a row, 1.5 GB for 8,000 tokens of SmolLM2."""
    kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)
    try:
        out = loaded.model(**kwargs, logits_to_keep=1)
    except TypeError:  # an architecture without it
        out = loaded.model(**kwargs)
    return out.logits[:, -1].float()


@torch.no_grad()
def steer_sweep(loaded: LoadedModel, token_ids: list[int], spec: SteerSpec, alphas, followed: int = -1,
                cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """The model's float32 logits at the followed position for `spec` steered at each α
    ((len(alphas), V)): one forward pass each, checked and bounded as a single steered
    run is (the α limit, the layer, the position)."""
    from dataclasses import replace

    ids = torch.tensor([list(token_ids)], device=next(loaded.model.parameters()).device)
    n = len(token_ids)
    followed = followed % n
    rows = []
    for a in alphas:
        if cancel is not None and cancel():
            raise Cancelled()
        with steering(loaded, replace(spec, alpha=float(a)), n):
            if followed == n - 1:
                logits = _last_logits(loaded, ids)[0]
            else:
                out = loaded.model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)
                logits = out.logits[0, followed].float()
        if not torch.isfinite(logits).all():
            raise PromptError(f"α = {float(a):g} after block {spec.layer} gives logits that are not finite numbers.")
        rows.append(logits.cpu().numpy())
    return np.stack(rows) if rows else np.zeros((0, loaded.info.vocab_size), np.float32)


def top_probs(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top token and its softmax probability ((n, V) logits in)."""
    top = logits.argmax(axis=1)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return top, 1.0 / np.exp(shifted).sum(axis=1)  # the top token's shifted logit is 0


def steer_curve(loaded: LoadedModel, token_ids: list[int], spec: SteerSpec, alphas, followed: int = -1,
                current: float | None = None, cancel=None):
    """The dose-response of `spec` over `alphas` as a core.patching.SteerCurve."""
    from spherescope.core.patching import SteerCurve

    logits = steer_sweep(loaded, token_ids, spec, alphas, followed, cancel)
    top, probs = top_probs(logits)
    away = logits[:, spec.away] if spec.away is not None else 0.0
    diffs = logits[:, spec.toward] - away
    return SteerCurve(loaded.token_text(spec.toward), None if spec.away is None else loaded.token_text(spec.away),
                      spec.layer, spec.position, tuple(float(a) for a in alphas), tuple(float(d) for d in diffs),
                      tuple((loaded.token_text(int(k)), float(p)) for k, p in zip(top, probs)),
                      None if current is None else float(current))


@dataclass(frozen=True)
class PatchPlan:
    """What a patching grid will cost, known before its first patched run."""

    runs: int  # patched sequences to run (cells whose clean and corrupt residuals differ)
    batch: int  # sequences per forward pass, chosen to fit the memory
    seconds: float  # about how long, from the two runs already timed
    bytes_per_run: int  # the activations one patched sequence needs at its peak
    budget: int  # the memory the batches may use

    @property
    def fits(self) -> bool:
        return self.bytes_per_run <= self.budget

    def describe(self) -> str:
        return (f"{self.runs:,} patched runs in batches of {self.batch}, about {_duration(self.seconds)} and "
                f"{self.bytes_per_run * self.batch / 1e9:.1f} GB at a time")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def bytes_per_run(loaded: LoadedModel, n_tokens: int) -> int:
    """A patched run's peak activations: a few residual-wide and MLP-wide tensors per
    token, one attention score matrix per head (eager attention's worst case), and the
    last position's logits."""
    cfg = loaded.model.config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    d = loaded.info.hidden_size
    inner = int(getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * d)
    heads = int(getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head", None) or 1)
    item = max(next(loaded.model.parameters()).element_size(), 4)
    return item * (n_tokens * (8 * d + 3 * inner) + heads * n_tokens * n_tokens) + 4 * loaded.info.vocab_size


def plan_patch(loaded: LoadedModel, clean: Trace, corrupt: Trace, seconds_per_run: float,
               budget: int | None = None) -> PatchPlan:
    from spherescope.models.devices import available_memory

    n_layers, T = clean.residuals.shape[0], clean.residuals.shape[1]
    runs = int(sum(int((clean.residuals[i] != corrupt.residuals[i]).any(axis=1).sum()) for i in range(n_layers)))
    if budget is None:
        free = available_memory(loaded.info.device)
        budget = int((free if free is not None else 4 << 30) * 0.5)
    per = bytes_per_run(loaded, T)
    batch = int(max(1, min(T, budget // max(per, 1))))
    # Batched rows share the weights' reads: measured on the article's pair, a row of 13
    # in one pass costs about 0.45 of 13 single runs; 0.6 keeps the estimate on the safe side.
    share = 1.0 if batch == 1 else 0.6
    return PatchPlan(runs, batch, seconds_per_run * runs * share, per, budget)


def check_patchable(clean: Trace, corrupt: Trace, target: int, contrast: int, vocab_size: int) -> None:
    if len(clean.tokens) != len(corrupt.tokens):
        raise PromptError(f"Patching needs prompts of equal length, token for token: the clean one has "
                          f"{len(clean.tokens)} tokens and the corrupt one {len(corrupt.tokens)}.")
    if target == contrast:
        raise PromptError("The contrast is the target itself: choose a different token to compare with.")
    for name, tid in (("target", target), ("contrast", contrast)):
        if not 0 <= int(tid) < vocab_size:
            raise PromptError(f"The {name} token id {tid} is not in this model's vocabulary.")


@torch.no_grad()
def patch_grid(loaded: LoadedModel, clean: Trace, corrupt: Trace, target: int, contrast: int,
               on_row: Callable[[int, np.ndarray], None] | None = None,
               cancel: Callable[[], bool] | None = None, batch: bool = True,
               on_start: Callable[[PatchGrid], None] | None = None,
               on_plan: Callable[[PatchPlan], None] | None = None) -> PatchGrid:
    """Recovery for every layer 0..L and position; `on_start(grid)` with no rows done
    once the two runs' logit differences are known, then `on_row(layer, row)` as each
    layer's row is done. `batch=False` runs each (layer, position) on its own (tests).
    `on_plan(plan)` hears the cost before any patched run, and may refuse by raising."""
    import time

    check_patchable(clean, corrupt, target, contrast, loaded.info.vocab_size)
    ids = _ids(loaded, corrupt.tokens)
    t0 = time.perf_counter()
    clean_logits, corrupt_logits = _last_logits(loaded, _ids(loaded, clean.tokens))[0], _last_logits(loaded, ids)[0]
    plan = plan_patch(loaded, clean, corrupt, (time.perf_counter() - t0) / 2)
    if on_plan is not None:
        on_plan(plan)
    clean_diff = float(clean_logits[target] - clean_logits[contrast])
    corrupt_diff = float(corrupt_logits[target] - corrupt_logits[contrast])
    try:
        recovery(np.zeros(1), clean_diff, corrupt_diff)  # refuses prompts the model does not tell apart
    except ValueError as exc:
        raise PromptError(str(exc)) from None
    n_layers, T = clean.residuals.shape[0], clean.residuals.shape[1]
    matrix = np.full((n_layers, T), np.nan)
    if on_start is not None:
        on_start(PatchGrid(matrix.copy(), clean_diff, corrupt_diff, int(target), int(contrast), corrupt.tokens,
                           clean.tokens))
    for layer in range(n_layers):
        if cancel is not None and cancel():
            raise Cancelled()
        row = np.zeros(T)
        todo = [p for p in range(T) if not np.array_equal(clean.residuals[layer, p], corrupt.residuals[layer, p])]
        vectors = {p: torch.from_numpy(np.ascontiguousarray(clean.residuals[layer, p])) for p in todo}
        size = plan.batch if batch else 1
        groups = [todo[i:i + size] for i in range(0, len(todo), size)]
        for group in groups:
            if cancel is not None and cancel():
                raise Cancelled()
            with _Put(loaded, layer, [[(p, vectors[p])] for p in group]):
                logits = _last_logits(loaded, ids.expand(len(group), -1))
            diff = (logits[:, target] - logits[:, contrast]).cpu().numpy().astype(np.float64)
            row[group] = recovery(diff, clean_diff, corrupt_diff)
        matrix[layer] = row
        if on_row is not None:
            on_row(layer, row.copy())
    return PatchGrid(matrix, clean_diff, corrupt_diff, int(target), int(contrast), corrupt.tokens, clean.tokens)


@torch.no_grad()
def patched_trace(loaded: LoadedModel, clean: Trace, corrupt: Trace, layer: int, position: int, top_k: int = 10) -> Trace:
    """The corrupt prompt's trace with the clean residual at (layer, position) put in:
    what one cell of the grid did, to draw on the sphere. Follows the last position."""
    from spherescope.models.trace import trace_prompt

    n = loaded.info.num_layers
    if len(clean.tokens) != len(corrupt.tokens):
        raise PromptError("Patching needs prompts of equal length, token for token.")
    if not 0 <= layer <= n:
        raise PromptError(f"Layer {layer} is out of range: the model has layers 0..{n}.")
    if not 0 <= position < len(corrupt.tokens):
        raise PromptError(f"Position {position} is out of range: the prompt has {len(corrupt.tokens)} tokens.")
    vector = torch.from_numpy(np.ascontiguousarray(clean.residuals[layer, position]))
    with _Put(loaded, layer, [[(position, vector)]]):
        return trace_prompt(loaded, "", top_k=top_k, tokens=corrupt.tokens)
