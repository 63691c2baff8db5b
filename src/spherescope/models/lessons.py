"""Per-model and per-position inputs for the lesson views, computed in the worker.

The vector the unembedding sees is x = project_out(final_norm(h)) (float32); logits
are U x + b with U the head's rows, so every number in the views is the model's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from spherescope.core.lessons import LayerLesson, NormHistogram, layer_lesson, norm_histogram, tied_cosines
from spherescope.models.loaded import LoadedModel


@dataclass(frozen=True)
class HeadTables:
    U: np.ndarray  # (V, d') float32 unembedding rows
    b: np.ndarray  # (V,) head bias, zeros when none
    u_norm: np.ndarray
    u_sq: np.ndarray


@dataclass(frozen=True)
class ModelStats:
    tied: bool
    embed_hist: NormHistogram
    unembed_hist: NormHistogram | None  # only when untied
    tied_cos: np.ndarray | None  # cos(W_E[t], W_U[t]) when untied and shapes match


def head_tables(loaded: LoadedModel) -> HeadTables:
    cached = loaded.derived.get("head_tables")
    if cached is None:
        head = loaded.lens.head
        U = np.ascontiguousarray(head.weight.detach().float().cpu().numpy())
        bias = getattr(head, "bias", None)
        b = bias.detach().float().cpu().numpy() if bias is not None else np.zeros(U.shape[0], np.float32)
        u_sq = (U.astype(np.float64) ** 2).sum(1)
        cached = HeadTables(U, b.astype(np.float32), np.sqrt(u_sq).astype(np.float32), u_sq)
        loaded.derived["head_tables"] = cached
    return cached


@torch.no_grad()
def lens_inputs(loaded: LoadedModel, path: np.ndarray) -> np.ndarray:
    """(L+1, d') vectors the unembedding sees, one per layer of a residual path."""
    lens = loaded.lens
    x = lens.normed(torch.from_numpy(np.ascontiguousarray(path, np.float32)))
    if lens.project_out is not None:
        x = lens.project_out(x)
    return x.float().cpu().numpy()


def position_lessons(loaded: LoadedModel, path: np.ndarray, k: int = 10, cancel=None) -> tuple[LayerLesson, ...] | None:
    t = head_tables(loaded)
    out = []
    for x in lens_inputs(loaded, path):
        if cancel is not None and cancel():
            return None
        out.append(layer_lesson(x, t.U, t.u_norm, t.u_sq, t.b, k))
    return tuple(out)


def model_stats(loaded: LoadedModel) -> ModelStats:
    W_E = loaded.embedding()
    tied = loaded.info.tied_embeddings
    embed_hist = norm_histogram(W_E)
    if tied:
        return ModelStats(True, embed_hist, None, None)
    U = head_tables(loaded).U
    cos = tied_cosines(W_E, U) if U.shape == W_E.shape else None
    return ModelStats(False, embed_hist, norm_histogram(U), cos)
