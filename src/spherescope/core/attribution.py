"""What moved the prediction: direct logit attribution of each block's attention and MLP write.

With the final norm's scale s frozen at its value for the last layer's residual h_L,
the model's logit for token t (before any soft-capping) is w_t·h_L / s + b_t, with w_t
the effective unembedding row (the final norm's gain folded in) and b_t the bias that
does not scale (head bias, LayerNorm's β). The residual is the embedding plus every
write, h_L = h_0 + Σ_i (attn_i + mlp_i), so the logit difference between a target and
a contrast splits exactly into

    (w_t − w_c)·h_0 / s  +  Σ_i (w_t − w_c)·attn_i / s  +  Σ_i (w_t − w_c)·mlp_i / s  +  (b_t − b_c)

(TransformerLens: decompose_resid / logit_attrs). The split is exact for the last
layer's norm scale; reading a middle layer's term as "its effect" linearises the norm
there, which is an approximation (the scale at that layer differs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Attribution:
    target: int
    contrast: int | None
    position: int
    logit_diff: float  # logit(target) − logit(contrast) before soft-capping (the target's logit without a contrast)
    embed: float  # the embedding's term (layer 0's residual)
    bias: float  # b_t − b_c: head bias and LayerNorm β, which do not depend on the residual
    scale: float  # the final norm's scale at the last layer
    attn: np.ndarray  # (L,) each block's attention write's term
    mlp: np.ndarray  # (L,) its MLP write's term
    attn_norm: np.ndarray  # (L,) |attention write| at the position
    mlp_norm: np.ndarray  # (L,) |MLP write|
    heads: np.ndarray | None = None  # (L, H) each head's term (its share of attn), where heads are linear
    head_bias: np.ndarray | None = None  # (L,) the output projection's bias term (attn = heads.sum + head_bias)
    steer: float | None = None  # a steering vector added at this position: its own term (None: not steered here)

    @property
    def total(self) -> float:
        """The sum of all terms: equal to logit_diff up to float rounding."""
        return float(self.embed + self.bias + self.attn.sum() + self.mlp.sum() + (self.steer or 0.0))

    def top_heads(self, layer: int, k: int = 5) -> list[tuple[int, float]]:
        """The k heads of a block (1-based layer) with the largest terms, by size."""
        if self.heads is None or not 1 <= layer <= len(self.heads):
            return []
        row = self.heads[layer - 1]
        order = np.argsort(-np.abs(row))[:k]
        return [(int(h), float(row[h])) for h in order]


def attribute(h0: np.ndarray, attn: np.ndarray, mlp: np.ndarray, direction: np.ndarray, scale: float,
              bias: float, logit_diff: float, target: int, contrast: int | None, position: int,
              heads: np.ndarray | None = None, head_bias: np.ndarray | None = None,
              steer: np.ndarray | None = None) -> Attribution:
    """`attn`, `mlp`: (L, d) writes at the position; `direction`: w_t − w_c (d,);
    `heads`: (L, H, d) per-head writes or None; `head_bias`: (L, d) or None;
    `steer`: (d,) a vector added to the residual at the position, or None."""
    d = np.asarray(direction, np.float64)
    s = float(scale)
    a = np.asarray(attn, np.float64)
    m = np.asarray(mlp, np.float64)
    return Attribution(
        target=int(target), contrast=None if contrast is None else int(contrast), position=int(position),
        logit_diff=float(logit_diff), embed=float(np.asarray(h0, np.float64) @ d / s), bias=float(bias), scale=s,
        attn=(a @ d / s).astype(np.float32), mlp=(m @ d / s).astype(np.float32),
        attn_norm=np.linalg.norm(a, axis=1).astype(np.float32), mlp_norm=np.linalg.norm(m, axis=1).astype(np.float32),
        heads=None if heads is None else (np.asarray(heads, np.float64) @ d / s).astype(np.float32),
        head_bias=None if head_bias is None else (np.asarray(head_bias, np.float64) @ d / s).astype(np.float32),
        steer=None if steer is None else float(np.asarray(steer, np.float64) @ d / s),
    )


def final_scale(w_h: np.ndarray, precap_minus_bias: np.ndarray) -> float:
    """s from the identity W_eff h / s = (logits before capping) − b, over the whole
    vocabulary: the ratio of the two vectors' lengths (whatever the norm's kind)."""
    num = float(np.linalg.norm(np.asarray(w_h, np.float64)))
    den = float(np.linalg.norm(np.asarray(precap_minus_bias, np.float64)))
    if not np.isfinite(num) or not np.isfinite(den) or den <= 0:
        raise ValueError("The final norm's scale cannot be read from this residual (its logits are zero or not finite).")
    return num / den
