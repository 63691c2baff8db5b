"""Inside the block: where each architecture's attention and MLP write to the residual stream.

A block adds two vectors to the residual: the attention write and the MLP write. In
sequential blocks (Llama, GPT-2, OPT, ...) the MLP reads the residual after attention;
in parallel blocks (GPT-NeoX/Pythia, Phi-1/2, GPT-J) both read the block's input. Gemma 2
and 3 normalise each write before adding it (post-norms): the write is the post-norm's
output. The attention write is also split by head where that is linear: the input to
the output projection, head by head, times that head's slice of the projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from spherescope.models.errors import ModelError

# model_type -> (attention write, MLP write, output projection or None), paths in a block.
_PATHS = {
    "gpt2": ("attn", "mlp", "attn.c_proj"),
    "opt": ("self_attn", "fc2", "self_attn.out_proj"),
    "gpt_neox": ("attention", "mlp", "attention.dense"),
    "phi": ("self_attn", "mlp", "self_attn.dense"),
    "gemma2": ("post_attention_layernorm", "post_feedforward_layernorm", None),
    "gemma3": ("post_attention_layernorm", "post_feedforward_layernorm", None),
    "gemma3_text": ("post_attention_layernorm", "post_feedforward_layernorm", None),
}
_DEFAULT = ("self_attn", "mlp", "self_attn.o_proj")  # llama, mistral, qwen2, gemma, phi3, ...
_PARALLEL_TYPES = {"phi", "gptj", "codegen"}


def _get(root: nn.Module, path: str):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


@dataclass(frozen=True)
class SublayerSpec:
    attn: list  # per block: the module whose output is the attention write
    mlp: list  # per block: the module whose output is the MLP write
    out_proj: list | None  # per block: the attention's output projection (for heads), or None
    parallel: bool
    n_heads: int

    def head_weight(self, layer: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(W, b) of a block's output projection as (d_out, d_in) float32, b (d_out,) or None."""
        proj = self.out_proj[layer]
        w = proj.weight.detach().float().cpu().numpy()
        if type(proj).__name__ == "Conv1D":  # GPT-2 stores (in, out)
            w = w.T
        b = getattr(proj, "bias", None)
        return np.ascontiguousarray(w), (None if b is None else b.detach().float().cpu().numpy())


def sublayer_spec(model: nn.Module, blocks) -> SublayerSpec:
    cfg = model.config
    text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    mt = getattr(cfg, "model_type", "")
    if mt == "opt" and not getattr(cfg, "do_layer_norm_before", True):
        raise ModelError("This OPT model normalises the residual inside each block (post-norm), so the attention "
                         "and MLP writes do not add up to the next layer; attribution needs a pre-norm model.")
    attn_path, mlp_path, proj_path = _PATHS.get(mt, _DEFAULT)
    if mt not in _PATHS and getattr(blocks[0], "post_feedforward_layernorm", None) is not None:
        attn_path, mlp_path, proj_path = _PATHS["gemma2"]
    attn = [_get(b, attn_path) for b in blocks]
    mlp = [_get(b, mlp_path) for b in blocks]
    if any(m is None for m in attn + mlp):
        raise ModelError(f"spherescope does not know where the attention and MLP of {type(model).__name__} write; "
                         "sublayers and attribution need a supported architecture.")
    proj = [_get(b, proj_path) for b in blocks] if proj_path else None
    if proj is not None and any(p is None or not hasattr(p, "weight") for p in proj):
        proj = None
    parallel = bool(getattr(text, "use_parallel_residual", False)) or mt in _PARALLEL_TYPES
    n_heads = int(getattr(text, "num_attention_heads", getattr(text, "n_head", 0)) or 0)
    return SublayerSpec(attn, mlp, proj if n_heads else None, parallel, n_heads)


class SublayerRecorder:
    """Forward hooks that keep each block's attention and MLP writes (and the input of
    its output projection, for heads) at the chosen positions, as float32 numpy.
    `positions`: of the first batch row (a slice or a list), or a tensor (B,) with one
    position for each batch row (a prompt set's padded batch)."""

    def __init__(self, spec: SublayerSpec, positions: slice | list[int] | torch.Tensor) -> None:
        n = len(spec.attn)
        self.spec, self.positions = spec, positions
        self.attn: list = [None] * n
        self.mlp: list = [None] * n
        self.z: list = [None] * n
        self.handles: list = []

    def _keep(self, store: list, i: int):
        def hook(module, args, output):
            store[i] = self._pick(output[0] if isinstance(output, (tuple, list)) else output)
        return hook

    def _keep_input(self, i: int):
        def hook(module, args):
            self.z[i] = self._pick(args[0])
        return hook

    def _pick(self, t: torch.Tensor) -> np.ndarray:
        if isinstance(self.positions, torch.Tensor):
            rows = self.positions
            if t.ndim == 2:  # OPT runs its MLP on (batch x tokens, d)
                t = t.reshape(len(rows), -1, t.shape[-1])
            t = t[torch.arange(len(rows), device=t.device), rows.to(t.device)]
        else:
            if t.ndim == 2:
                t = t.unsqueeze(0)
            t = t[0, self.positions]
        return t.detach().float().cpu().numpy()

    def __enter__(self):
        s = self.spec
        for i, (a, m) in enumerate(zip(s.attn, s.mlp)):
            self.handles.append(a.register_forward_hook(self._keep(self.attn, i)))
            self.handles.append(m.register_forward_hook(self._keep(self.mlp, i)))
            if s.out_proj is not None:
                self.handles.append(s.out_proj[i].register_forward_pre_hook(self._keep_input(i)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


@torch.no_grad()
def head_writes(spec: SublayerSpec, layer: int, z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(heads, bias): each head's share of a block's attention write at one position,
    (n_heads, d), and the projection's bias (d,) or None. heads.sum(0) + bias is the write."""
    w, b = spec.head_weight(layer)
    hd = w.shape[1] // spec.n_heads
    zh = np.asarray(z, np.float32).reshape(spec.n_heads, hd)
    heads = np.einsum("hk,dhk->hd", zh, w.reshape(w.shape[0], spec.n_heads, hd))
    return heads.astype(np.float32), b
