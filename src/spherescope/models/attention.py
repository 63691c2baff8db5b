"""What each attention head reads: its weights from the followed position to every
position of the prompt, for every head of every block, recorded during a forward pass.

transformers calls one attention function for every block (ALL_ATTENTION_FUNCTIONS,
chosen by the model's `_attn_implementation`) with the queries and keys after their
projections, norms and rotary embeddings. While a recorder is entered, that function
is wrapped: the block's own computation runs unchanged (SDPA or flash stay fast, no
switch to eager for the whole model), and the followed query's row of weights is
computed beside it from the same queries and keys: scaled dot products, the logit
soft-cap where the model has one (Gemma 2), the mask the block was given (causal,
sliding window), softmax. Grouped-query attention shares each key head among a group
of query heads, as the block does. Where the model already runs eager attention, its
own weights are taken as they are.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import torch
from torch import nn

from spherescope.models.errors import ModelError

_ATTENTION_NAMES = ("self_attn", "attn", "attention")


def attention_modules(blocks) -> list[nn.Module]:
    """Each block's attention module (the one that calls the attention function)."""
    found = []
    for b in blocks:
        mod = next((getattr(b, n) for n in _ATTENTION_NAMES if isinstance(getattr(b, n, None), nn.Module)), None)
        if mod is None:
            raise ModelError(f"spherescope does not know where the attention of {type(b).__name__} is; "
                             "attention weights need a supported architecture.")
        found.append(mod)
    return found


def _module_eager(module: nn.Module):
    """The model's own eager attention function (each architecture defines one)."""
    fn = getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)
    if fn is None:
        from transformers.models.llama.modeling_llama import eager_attention_forward as fn
    return fn


def followed_row(query: torch.Tensor, key: torch.Tensor, pos: int, mask, scaling: float | None,
                 softcap: float | None = None, sliding_window: int | None = None) -> torch.Tensor:
    """(H, T) softmax weights of query position `pos` over the keys, float32.
    `query` (1, H, T, D), `key` (1, H_kv, T, D); `mask`: None (causal), a boolean mask
    (True: may attend) or an additive float mask, (1 or B, 1 or H, T, T)."""
    q = query[:1, :, pos:pos + 1].float()
    k = key[:1].float()
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads:  # grouped-query attention: each key head serves a group of query heads
        k = k.repeat_interleave(heads // kv_heads, dim=1)
    scale = scaling if scaling is not None else 1.0 / math.sqrt(q.shape[-1])
    scores = (q @ k.transpose(-1, -2)) * scale  # (1, H, 1, T)
    if softcap:
        scores = torch.tanh(scores / softcap) * softcap
    t = k.shape[2]
    if mask is None:
        keys = torch.arange(t, device=scores.device)
        allowed = keys <= pos
        if sliding_window:
            allowed &= keys > pos - int(sliding_window)
        scores = scores.masked_fill(~allowed, float("-inf"))
    else:
        row = mask[:1, :, pos:pos + 1, :t]
        if row.dtype == torch.bool:
            scores = scores.masked_fill(~row, float("-inf"))
        else:
            scores = scores + row.float()
    return torch.softmax(scores, dim=-1)[0, :, 0]


class AttentionRecorder:
    """Keeps, while entered, each block's attention weights from query position `pos`:
    `weights` is then (L, H, T) float32 numpy (after the forward pass)."""

    def __init__(self, model: nn.Module, blocks, pos: int) -> None:
        self.model, self.pos = model, pos
        self.modules = attention_modules(blocks)
        self.index = {id(m): i for i, m in enumerate(self.modules)}
        self.rows: list = [None] * len(self.modules)
        self._saved = None

    def _record(self, module, query, key, attention_mask, kwargs, out) -> None:
        layer = self.index.get(id(module))
        if layer is None:
            return
        weights = out[1] if isinstance(out, tuple) and len(out) > 1 else None
        if weights is not None and weights.dim() == 4:  # eager: the model's own weights
            self.rows[layer] = weights[0, :, self.pos].float().detach().cpu().numpy()
        else:
            self.rows[layer] = followed_row(
                query, key, self.pos, attention_mask, kwargs.get("scaling", getattr(module, "scaling", None)),
                kwargs.get("softcap"), kwargs.get("sliding_window")).cpu().numpy()

    def __enter__(self):
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        impl = getattr(self.model.config, "_attn_implementation", None) or "eager"
        local = ALL_ATTENTION_FUNCTIONS._local_mapping
        self._saved = (impl, local.get(impl, _MISSING))
        if impl == "eager" or impl not in ALL_ATTENTION_FUNCTIONS:
            original = None  # resolved per module: each architecture has its own eager function
        else:
            original = ALL_ATTENTION_FUNCTIONS[impl]

        def dispatch(module, query, key, value, attention_mask, *args, **kwargs):
            fn = original if original is not None else _module_eager(module)
            out = fn(module, query, key, value, attention_mask, *args, **kwargs)
            self._record(module, query, key, attention_mask, kwargs, out)
            return out

        ALL_ATTENTION_FUNCTIONS[impl] = dispatch
        return self

    def __exit__(self, *exc) -> None:
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        impl, before = self._saved
        if before is _MISSING:
            ALL_ATTENTION_FUNCTIONS._local_mapping.pop(impl, None)
        else:
            ALL_ATTENTION_FUNCTIONS[impl] = before

    @property
    def weights(self) -> np.ndarray:
        if any(r is None for r in self.rows):
            missing = [i + 1 for i, r in enumerate(self.rows) if r is None]
            raise ModelError(f"The attention of blocks {missing} was not seen during the forward pass: this "
                             "architecture computes it some other way, so its weights cannot be read.")
        return np.stack(self.rows).astype(np.float32)


_MISSING = object()
