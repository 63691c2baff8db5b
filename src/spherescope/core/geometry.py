"""Directions, lengths and the three notions of "closest" that the article contrasts.

Everything here is numpy and float32/float64 in, numpy out, so it can be tested
against brute force on small matrices and reused by the views without torch.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def lengths(vectors: np.ndarray) -> np.ndarray:
    """Euclidean length of each row (or of a single vector)."""
    return np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=-1)


def directions(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors along each row; a zero row stays zero rather than becoming NaN."""
    v = np.asarray(vectors, dtype=np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS)


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first (ties broken by lower index)."""
    k = max(0, min(int(k), scores.shape[-1]))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    order = np.lexsort((part, -scores[part]))
    return part[order].astype(np.int64)


def top_ids(scores: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k largest scores, best first."""
    return top_indices(np.asarray(scores), k)


def top_by_dot(h: np.ndarray, table: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k rows with the largest dot product with h: this is what a logit ranks."""
    scores = table @ np.asarray(h, dtype=table.dtype)
    idx = top_indices(scores, k)
    return idx, scores[idx]


def top_by_cosine(
    h: np.ndarray, table: np.ndarray, k: int, table_lengths: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows pointing most nearly the same way as h, lengths ignored."""
    if table_lengths is None:
        table_lengths = lengths(table)
    h = np.asarray(h, dtype=table.dtype)
    hn = float(np.linalg.norm(h))
    cos = (table @ h) / (np.maximum(table_lengths, _EPS) * max(hn, _EPS))
    idx = top_indices(cos, k)
    return idx, cos[idx]


def top_by_euclid(
    h: np.ndarray, table: np.ndarray, k: int, table_sq_lengths: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows nearest to h as points in space: the "misconception" measure."""
    if table_sq_lengths is None:
        table_sq_lengths = lengths(table) ** 2
    h = np.asarray(h, dtype=table.dtype)
    # |u - h|^2 = |u|^2 - 2 u.h + |h|^2, without materialising V x d differences.
    d2 = table_sq_lengths - 2.0 * (table @ h) + float(h @ h)
    d2 = np.maximum(d2, 0.0)
    idx = top_indices(-d2, k)
    return idx, np.sqrt(d2[idx])


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis at temperature T; T == 0 is the argmax one-hot."""
    x = np.asarray(logits, dtype=np.float64)
    if temperature < 0:
        raise ValueError("temperature must be >= 0")
    if temperature == 0:
        out = np.zeros_like(x)
        np.put_along_axis(out, np.argmax(x, axis=-1)[..., None], 1.0, axis=-1)
        return out
    z = x / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats over the last axis."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=-1)
