"""Per-head activation patching: each head's output at the last position, copied from the
clean run into the corrupt one, and how much of logit(target) − logit(contrast) comes
back (TransformerLens's get_act_patch_attn_head_out_* at the last position).

A head's output there is its slice of the input to the block's output projection, so a
pre-hook on that projection puts the clean slice in. Batched as the residual grid is:
for each block, one forward pass of the corrupt prompt with one batch row per head. A
head whose clean and corrupt outputs are bit for bit the same changes nothing: its
recovery is 0 without a run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from spherescope.core.patching import HeadGrid, recovery
from spherescope.core.trajectory import Trace
from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.loaded import LoadedModel


def output_projections(loaded: LoadedModel) -> list:
    """Each block's attention output projection (the module whose input is the heads'
    outputs side by side), whatever normalises the attention write after it."""
    from spherescope.models.sublayers import _DEFAULT, _PATHS, _get

    mt = getattr(loaded.model.config, "model_type", "")
    path = _PATHS.get(mt, _DEFAULT)[2] or _DEFAULT[2]
    found = [_get(b, path) for b in loaded.blocks]
    if any(p is None or not hasattr(p, "weight") for p in found):
        raise PromptError(f"spherescope does not know where the heads of {type(loaded.model).__name__} meet; "
                          "per-head patching needs a supported architecture.")
    return found


class _PutHeads:
    """A pre-hook on one block's output projection: batch row r gets head heads[r]'s
    clean output at the last position."""

    def __init__(self, proj, heads: list[int], clean_z: torch.Tensor, head_dim: int) -> None:
        self.proj, self.heads, self.clean_z, self.hd = proj, heads, clean_z, head_dim
        self.handle = None

    def _pre(self, module, args):
        z = args[0].clone()
        for r, h in enumerate(self.heads):
            sl = slice(h * self.hd, (h + 1) * self.hd)
            z[r, -1, sl] = self.clean_z[sl].to(z.dtype)
        return (z, *args[1:])

    def __enter__(self):
        self.handle = self.proj.register_forward_pre_hook(self._pre)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()


@torch.no_grad()
def head_patch_grid(loaded: LoadedModel, clean: Trace, corrupt: Trace, target: int, contrast: int,
                    on_row: Callable[[int, np.ndarray], None] | None = None,
                    cancel: Callable[[], bool] | None = None,
                    on_start: Callable[[HeadGrid], None] | None = None, batch: int | None = None) -> HeadGrid:
    """Recovery for every block and head; `on_row(block_index, row)` as each block is
    done (index 0 is block 1)."""
    from spherescope.models.patching import _ids, _last_logits, check_patchable

    from spherescope.models.sublayers import sublayer_spec

    check_patchable(clean, corrupt, target, contrast, loaded.info.vocab_size)
    sublayer_spec(loaded.model, loaded.blocks)  # refuses a post-norm model with a sentence, as attribution does
    projs = output_projections(loaded)
    ids = _ids(loaded, corrupt.tokens)
    with _ReadHeads(projs) as read:
        clean_logits = _last_logits(loaded, _ids(loaded, clean.tokens))[0]
        zc = read.taken()
        corrupt_logits = _last_logits(loaded, ids)[0]
        zk = read.taken()
    clean_diff = float(clean_logits[target] - clean_logits[contrast])
    corrupt_diff = float(corrupt_logits[target] - corrupt_logits[contrast])
    try:
        recovery(np.zeros(1), clean_diff, corrupt_diff)
    except ValueError as exc:
        raise PromptError(str(exc)) from None
    n_blocks, width = zc.shape
    n_heads = _n_heads(loaded)
    hd = width // n_heads
    matrix = np.full((n_blocks, n_heads), np.nan)
    if on_start is not None:
        on_start(HeadGrid(matrix.copy(), clean_diff, corrupt_diff, int(target), int(contrast)))
    size = batch or n_heads
    for b in range(n_blocks):
        row = np.zeros(n_heads)
        todo = [h for h in range(n_heads) if not np.array_equal(zc[b, h * hd:(h + 1) * hd], zk[b, h * hd:(h + 1) * hd])]
        clean_z = torch.from_numpy(np.ascontiguousarray(zc[b]))
        for i in range(0, len(todo), size):
            if cancel is not None and cancel():
                raise Cancelled()
            group = todo[i:i + size]
            with _PutHeads(projs[b], group, clean_z, hd):
                logits = _last_logits(loaded, ids.expand(len(group), -1))
            diff = (logits[:, target] - logits[:, contrast]).cpu().numpy().astype(np.float64)
            row[group] = recovery(diff, clean_diff, corrupt_diff)
        matrix[b] = row
        if on_row is not None:
            on_row(b, row.copy())
    return HeadGrid(matrix, clean_diff, corrupt_diff, int(target), int(contrast))


@torch.no_grad()
def patched_head_trace(loaded: LoadedModel, clean: Trace, corrupt: Trace, block: int, head: int,
                       top_k: int = 10) -> Trace:
    """The corrupt prompt's trace with block `block`'s (1-based) head `head` given its
    clean output at the last position: what one cell of the head grid did."""
    from spherescope.models.patching import _ids, _last_logits
    from spherescope.models.trace import trace_prompt

    n_blocks, n_heads = loaded.info.num_layers, _n_heads(loaded)
    if len(clean.tokens) != len(corrupt.tokens):
        raise PromptError("Patching needs prompts of equal length, token for token.")
    if not 1 <= block <= n_blocks or not 0 <= head < n_heads:
        raise PromptError(f"Head {block}.{head} is out of range: blocks 1..{n_blocks}, heads 0..{n_heads - 1}.")
    projs = output_projections(loaded)
    with _ReadHeads(projs) as read:
        _last_logits(loaded, _ids(loaded, clean.tokens))
        zc = read.taken()
    hd = zc.shape[1] // n_heads
    with _PutHeads(projs[block - 1], [head], torch.from_numpy(np.ascontiguousarray(zc[block - 1])), hd):
        return trace_prompt(loaded, "", top_k=top_k, tokens=corrupt.tokens)


class _ReadHeads:
    """Pre-hooks that keep every block's heads' outputs at the last position of the
    first batch row: `taken()` gives them as (L, H x head_dim) and starts afresh."""

    def __init__(self, projs: list) -> None:
        self.projs, self.rows, self.handles = projs, [None] * len(projs), []

    def _keep(self, i: int):
        def pre(module, args):
            z = args[0] if args[0].ndim == 3 else args[0].unsqueeze(0)
            self.rows[i] = z[0, -1].detach().float().cpu().numpy()
        return pre

    def taken(self) -> np.ndarray:
        rows, self.rows = self.rows, [None] * len(self.projs)
        return np.stack(rows)

    def __enter__(self):
        self.handles = [p.register_forward_pre_hook(self._keep(i)) for i, p in enumerate(self.projs)]
        return self

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()


def _n_heads(loaded: LoadedModel) -> int:
    cfg = loaded.model.config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return int(getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head"))
