"""Direct logit attribution of a traced prompt (core.attribution), read from the model:
the effective unembedding rows, the bias, and the final norm's scale at the last layer."""

from __future__ import annotations

import numpy as np
import torch

from spherescope.core.attribution import Attribution, attribute, final_scale
from spherescope.core.trajectory import Trace
from spherescope.models.errors import PromptError
from spherescope.models.loaded import LoadedModel


def check_pair(loaded: LoadedModel, target: int, contrast: int | None) -> None:
    v = loaded.info.vocab_size
    for name, tid in (("target", target), ("contrast", contrast)):
        if tid is not None and not 0 <= int(tid) < v:
            raise PromptError(f"The {name} token id {tid} is not in this model's vocabulary (0..{v - 1}).")
    if contrast is not None and int(contrast) == int(target):
        raise PromptError("The contrast is the target itself: choose a different token to compare with.")


@torch.no_grad()
def final_norm_scale(loaded: LoadedModel, trace: Trace, position: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, the logits before any soft-capping, the bias b): the final norm's scale at the
    last layer's residual, so that a write x adds W_eff·x / s to the logits."""
    return final_norm_scale_of(loaded, np.asarray(trace.residuals[-1, position], np.float32))


@torch.no_grad()
def final_norm_scale_of(loaded: LoadedModel, h_last: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """final_norm_scale for the last layer's residual itself (d,)."""
    return final_norm_scales(loaded, np.asarray(h_last, np.float32)[None])[0]


@torch.no_grad()
def final_norm_scales(loaded: LoadedModel, h_last: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """final_norm_scale_of for each row of (B, d) residuals at once (a prompt set's batch):
    the head and W_eff h are one matrix product each for the batch."""
    u, g, b = loaded.head_factors()  # effective rows W = U * g (the final norm's gain folded in)
    h_last = np.asarray(h_last, np.float32)
    lens = loaded.lens
    x = lens.normed(torch.from_numpy(h_last))
    if lens.project_out is not None:
        x = lens.project_out(x)
    precap = lens.head(x).float().cpu().numpy().astype(np.float64)
    wh = (h_last * g if g is not None else h_last) @ u.T
    return [(final_scale(wh[k], precap[k] - b), precap[k], b) for k in range(len(h_last))]


def pair_terms(loaded: LoadedModel, target: int, contrast: int | None, precap: np.ndarray, b: np.ndarray):
    """(direction w_t − w_c, the bias term, the logit difference before capping)."""
    rows = loaded.unembedding_rows([target] if contrast is None else [target, contrast]).astype(np.float64)
    direction = rows[0] - (rows[1] if contrast is not None else 0.0)
    bias = float(b[target] - (b[contrast] if contrast is not None else 0.0))
    logit_diff = float(precap[target] - (precap[contrast] if contrast is not None else 0.0))
    return direction, bias, logit_diff


@torch.no_grad()
def attribute_trace(loaded: LoadedModel, trace: Trace, position: int, target: int, contrast: int | None,
                    steer=None) -> Attribution:
    """The attribution at `position`. The trace must have its sublayers recorded there.
    `steer`: the SteerSpec the trace was run with. Its vector, where it was added at
    this position, is a term of its own, so the terms still sum to the logit difference
    (the blocks' writes are recorded inside the blocks, without it)."""
    from spherescope.models.sublayers import head_writes, sublayer_spec

    check_pair(loaded, target, contrast)
    sub = trace.sublayers
    k = None if sub is None else sub.index(position)
    if k is None:
        raise PromptError(f"Position {position} was traced without its sublayers; trace it again.")
    scale, precap, b = final_norm_scale(loaded, trace, position)
    direction, bias, logit_diff = pair_terms(loaded, target, contrast, precap, b)
    heads = head_bias = None
    if sub.z is not None:
        spec = sublayer_spec(loaded.model, loaded.blocks)
        per_layer = [head_writes(spec, i, sub.z[i, k]) for i in range(len(sub.z))]
        heads = np.stack([h for h, _b in per_layer])
        d = heads.shape[-1]
        head_bias = np.stack([hb if hb is not None else np.zeros(d, np.float32) for _h, hb in per_layer])
    h0 = np.asarray(trace.residuals[0, position], np.float32)
    steer_vec = None
    if steer is not None and (steer.position is None or steer.position % trace.residuals.shape[1] == position):
        from spherescope.models.patching import steer_vector

        steer_vec = steer_vector(loaded, steer, trace.residuals.shape[1])
        if steer.layer == 0:  # added to the embeddings: layer 0's residual holds it
            h0 = h0 - steer_vec
    return attribute(h0, sub.attn[:, k], sub.mlp[:, k], direction, scale, bias,
                     logit_diff, target, contrast, position, heads, head_bias, steer_vec)
