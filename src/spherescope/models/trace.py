"""Tracing a prompt: residual vectors at every layer and the logit lens on them.

One forward pass with hooks. Layer 0 is the input to the first block (the embedding
plus whatever the architecture adds before the blocks, e.g. GPT-2's positions);
layer i is the output of block i; the last layer is taken with a pre-hook on the
final norm, because transformers' hidden_states[-1] has already been normalised.
Each layer is handed to `on_layer` as soon as it exists, so a caller can stream it,
and `cancel()` is checked at every layer so a newer request can stop an old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from spherescope.core.trajectory import LayerFrame, LensTop, Sublayers, Token, Trace
from spherescope.models.errors import Cancelled, ModelError, PromptError
from spherescope.models.loaded import LoadedModel

OnLayer = Callable[[LayerFrame], None]
SUBLAYER_ALL_POSITIONS = 1024


def tokenize(loaded: LoadedModel, prompt: str) -> tuple[Token, ...]:
    """The tokens exactly as the model's tokenizer makes them by default."""
    if prompt is None or prompt == "":
        raise PromptError("The prompt is empty; type some text to trace.")
    ids = loaded.tokenizer(prompt)["input_ids"]
    if len(ids) == 0:
        raise PromptError("The prompt produced no tokens; type some visible text.")
    ctx = loaded.info.context_length
    if ctx is not None and len(ids) > ctx:
        raise PromptError(
            f"The prompt is {len(ids):,} tokens but {loaded.info.name} reads at most {ctx:,}; "
            "it was refused, not truncated: shorten it."
        )
    return tuple(Token(int(i), loaded.token_text(int(i))) for i in ids)


def _tops_from_logits(logits: torch.Tensor, k: int) -> tuple[LensTop, ...]:
    logits = logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    k = min(k, logits.shape[-1])
    vals, idx = torch.topk(logits, k, dim=-1)
    probs = torch.gather(logp, -1, idx).exp()
    ent = -(logp.exp() * logp).nansum(dim=-1)
    idx_np, p_np, v_np, e_np = idx.cpu().numpy(), probs.cpu().numpy(), vals.cpu().numpy(), ent.cpu().numpy()
    return tuple(
        LensTop(idx_np[i].astype(np.int64), p_np[i].astype(np.float32), v_np[i].astype(np.float32), float(e_np[i]))
        for i in range(logits.shape[0])
    )


LENS_ROWS = 8  # layers per batch of the lens's softmax: (8, V) temporaries at a time


def lens_tops(loaded: LoadedModel, path: np.ndarray, k: int) -> tuple[LensTop, ...]:
    """The lens at every layer for one position's path (L+1, d): the logits in one
    pass over the unembedding (a pass per batch of layers reads the whole head again:
    1.35x a bare forward pass instead of 0.93x), their softmax a few layers at a time
    (all 31 at once made four more (31, V) float32 temporaries: 24 MB for SmolLM2, 130
    MB for a 262k vocabulary, at the peak of a trace). Also used when the user follows
    another position, so no forward pass is needed."""
    logits = loaded.lens.logits(torch.from_numpy(np.ascontiguousarray(path, dtype=np.float32)))
    out: list[LensTop] = []
    for start in range(0, len(logits), LENS_ROWS):
        out += _tops_from_logits(logits[start:start + LENS_ROWS], k)
    return tuple(out)


def lens_logit_diff(loaded: LoadedModel, path: np.ndarray, target: int, contrast: int | None) -> np.ndarray:
    """The logit lens's logit(target) − logit(contrast) (or the target's logit) at every
    layer of a path (L+1, d), as the model's head reads each layer."""
    logits = loaded.lens.logits(torch.from_numpy(np.ascontiguousarray(path, dtype=np.float32)))
    diff = logits[:, target] - (logits[:, contrast] if contrast is not None else 0.0)
    return diff.cpu().numpy().astype(np.float64)


def _resolve_position(position: int | None, n: int) -> int:
    if position is None:
        return n - 1
    if not -n <= position < n:
        raise PromptError(f"Position {position} is out of range: the prompt has {n} tokens (0..{n - 1}).")
    return position % n


def first_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (tuple, list)) and x and isinstance(x[0], torch.Tensor):
        return x[0]
    if hasattr(x, "last_hidden_state"):
        return x.last_hidden_state
    raise TypeError(f"unexpected block output {type(x).__name__}")


@torch.no_grad()
def trace_prompt(
    loaded: LoadedModel,
    prompt: str,
    position: int | None = None,
    top_k: int = 10,
    on_layer: OnLayer | None = None,
    cancel: Callable[[], bool] | None = None,
    tokens: tuple[Token, ...] | None = None,
    sublayers: bool = False,
    attention: bool = False,
) -> Trace:
    """`sublayers`: also record each block's attention and MLP writes (models.sublayers),
    at every position, or at the followed one for prompts over SUBLAYER_ALL_POSITIONS
    tokens (their memory grows as layers x tokens x width). `attention`: also record
    every head's attention weights from the followed position (models.attention)."""
    tokens = tokens if tokens is not None else tokenize(loaded, prompt)
    n = len(tokens)
    pos = _resolve_position(position, n)
    model = loaded.model
    ids = torch.tensor([[t.id for t in tokens]], device=next(model.parameters()).device)
    hooks = _ResidualHooks(loaded, on_layer, cancel)
    recorder = covered = None
    if sublayers:
        from spherescope.models.sublayers import SublayerRecorder, sublayer_spec

        covered = list(range(n)) if n <= SUBLAYER_ALL_POSITIONS else [pos]
        recorder = SublayerRecorder(sublayer_spec(model, loaded.blocks), slice(None) if len(covered) == n else covered)
        recorder.__enter__()
    heads = None
    if attention:
        from spherescope.models.attention import AttentionRecorder

        heads = AttentionRecorder(model, loaded.blocks, pos).__enter__()
    try:
        with hooks:
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)
    finally:
        if recorder is not None:
            recorder.__exit__(None, None, None)
        if heads is not None:
            heads.__exit__(None, None, None)
    hooks.check_cancel()
    stacked = hooks.stacked()
    check_finite(stacked)
    trace = _finish(loaded, tokens, pos, stacked, out.logits[0, pos].float(), top_k, hooks,
                    None if recorder is None else Sublayers(
                        np.stack(recorder.attn), np.stack(recorder.mlp), tuple(covered), recorder.spec.parallel,
                        np.stack(recorder.z) if recorder.spec.out_proj is not None else None))
    return trace if heads is None else replace(trace, attention=heads.weights)


def _finish(loaded: LoadedModel, tokens, pos: int, stacked: np.ndarray, logits: torch.Tensor, top_k: int, hooks,
            sublayers) -> Trace:
    """The Trace of a finished forward pass: the lens at the followed position, and the
    model's own answer there, both checked for overflow and degenerate distributions."""
    path = torch.from_numpy(np.ascontiguousarray(stacked[:, pos]))
    lens = lens_tops(loaded, stacked[:, pos], top_k)
    final_normed_norm = float(loaded.lens.normed(path[-1:]).norm())
    hooks.check_cancel()
    check_finite(logits=logits.cpu().numpy())
    check_not_degenerate(stacked[:, pos], final_normed_norm, logits)
    probs = torch.softmax(logits, dim=-1)
    nid = int(torch.argmax(logits))
    return Trace(model_name=loaded.info.name, tokens=tokens, position=pos, residuals=stacked, lens=lens,
                 final_normed_norm=final_normed_norm, next_token=Token(nid, loaded.token_text(nid)),
                 next_prob=float(probs[nid]), model_logits=logits.cpu().numpy(), sublayers=sublayers)


class _ResidualHooks:
    """Forward hooks that take the residual stream at every layer as the pass runs: the
    embeddings (before the first block), each block's output, and the last layer where
    the final norm receives it (after the last block, when the model has one)."""

    def __init__(self, loaded: LoadedModel, on_layer: OnLayer | None, cancel) -> None:
        self.loaded, self.on_layer, self.cancel = loaded, on_layer, cancel
        self.num_layers = loaded.info.num_layers
        self.residuals: list[np.ndarray | None] = [None] * (self.num_layers + 1)
        self.handles: list = []

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled()

    def emit(self, layer: int, hidden: torch.Tensor) -> None:
        self.check_cancel()
        res = hidden[0].detach().float().cpu().numpy()
        self.residuals[layer] = res
        if self.on_layer is not None:
            self.on_layer(LayerFrame(layer, res, np.linalg.norm(res, axis=1).astype(np.float32)))

    def _pre_first(self, module, args, kwargs):
        self.emit(0, args[0] if args else kwargs.get("hidden_states"))

    def _post(self, i: int):
        def post(module, args, output):
            if i + 1 < self.num_layers or self.loaded.lens.final_norm is None:
                self.emit(i + 1, first_tensor(output))
            else:
                self.check_cancel()

        return post

    def _pre_norm(self, module, args, kwargs):
        # Take the first call only: that one receives the residual stream (the lens
        # reuses this module after the forward, when the hook is already removed).
        if self.residuals[self.num_layers] is None:
            self.emit(self.num_layers, args[0] if args else kwargs.get("hidden_states"))

    def __enter__(self):
        blocks = self.loaded.blocks
        self.handles = [blocks[0].register_forward_pre_hook(self._pre_first, with_kwargs=True)]
        self.handles += [b.register_forward_hook(self._post(i)) for i, b in enumerate(blocks)]
        if self.loaded.lens.final_norm is not None:
            target = _original_final_norm(self.loaded)
            self.handles.append(target.register_forward_pre_hook(self._pre_norm, with_kwargs=True))
        return self

    def __exit__(self, *exc) -> None:
        for hd in self.handles:
            hd.remove()

    def stacked(self) -> np.ndarray:
        if any(r is None for r in self.residuals):
            missing = [i for i, r in enumerate(self.residuals) if r is None]
            raise RuntimeError(f"layers {missing} were never reached by the forward pass")
        return np.stack(self.residuals)  # type: ignore[arg-type]


def check_finite(residuals: np.ndarray | None = None, logits=None) -> None:
    """A trace with NaN or infinity in it is an error, never a result (a corrupt weight
    file gives NaN from some layer on): ModelError, naming the first such layer."""
    if residuals is not None and not np.isfinite(residuals).all():
        bad = np.where(~np.isfinite(residuals).reshape(len(residuals), -1).all(axis=1))[0]
        raise ModelError(f"The model produced NaN or infinite values from layer {int(bad[0])} on: its weights are "
                         "probably corrupt (delete spherescope's cache folder to rebuild a converted copy), or it "
                         "overflows in this precision (try --dtype float32).")
    if logits is not None and not np.isfinite(logits).all():
        raise ModelError("The model's output logits contain NaN or infinite values: its weights are probably "
                         "corrupt, or it overflows in this precision (try --dtype float32).")


def check_not_degenerate(path: np.ndarray, final_normed_norm: float, logits: torch.Tensor) -> None:
    """A state the final norm cannot take (its squares overflow to infinity, or it is
    zero) gives a normalised state of length 0 and a uniform distribution: finite, but
    no answer. An error naming the layer, like NaN, never a 'prediction'."""
    if np.isfinite(final_normed_norm) and final_normed_norm > 0 and float(logits.max() - logits.min()) > 0:
        return
    with np.errstate(over="ignore"):
        sq = np.square(path.astype(np.float32)).sum(axis=1)
    bad = np.where(~np.isfinite(sq) | (sq == 0))[0]
    where = f"from layer {int(bad[0])} on" if len(bad) else "at the last layer"
    raise ModelError(f"The residual {where} is too large (or too small) for the final norm: its squares overflow, "
                     "the normalised state has no length and every token gets the same probability. This is no "
                     "prediction; use a smaller steering strength α.")


def _original_final_norm(loaded: LoadedModel):
    """The model's own final norm module (the lens may hold a float32 copy)."""
    from spherescope.models.lens import find_final_norm

    return find_final_norm(loaded.model)
