"""The article's lessons as numbers: which tokens are "closest" by each measure, how
length acts as confidence, temperature, token norms and the embed/unembed round trip.

Everything is numpy on plain arrays, checked in tests against brute force on small
matrices. `x` is the vector the unembedding sees (after the final norm), `U` the
unembedding rows (V x d), `b` the head bias (zeros when there is none): logit = U x + b.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from spherescope.core.geometry import top_indices

ALPHAS = np.linspace(0.0, 4.0, 41)
TEMPERATURES = np.linspace(0.0, 5.0, 51)


@dataclass(frozen=True)
class Closest:
    """Top-k token ids by dot product (the logit), by cosine and by Euclidean distance,
    and each dot-product winner's logit split as |x|·|u|·cos θ + b."""

    by_dot: np.ndarray
    logits: np.ndarray
    by_cos: np.ndarray
    cos: np.ndarray
    by_euclid: np.ndarray
    dist: np.ndarray
    x_norm: float
    u_norm: np.ndarray  # |u| of by_dot
    cos_dot: np.ndarray  # cos θ of by_dot
    bias: np.ndarray  # b of by_dot


@dataclass(frozen=True)
class LayerLesson:
    closest: Closest
    logits: np.ndarray  # (V,) float32: U x + b, the lens at this layer (before soft-capping)
    bias: np.ndarray  # (V,) b: the part of a logit that scaling x does not scale
    alpha_top_prob: np.ndarray  # (len(ALPHAS),) probability of the α=1 top token at each α
    alpha_entropy: np.ndarray  # (len(ALPHAS),) entropy in nats at each α
    temp_top_prob: np.ndarray  # (len(TEMPERATURES),) top token probability at each temperature


def closest(x: np.ndarray, U: np.ndarray, u_norm: np.ndarray, u_sq: np.ndarray, b: np.ndarray, k: int = 10) -> tuple[Closest, np.ndarray]:
    x = np.asarray(x, np.float32)
    dots = U @ x
    logits = dots + b
    xn = float(np.linalg.norm(x))
    cos = dots / (np.maximum(u_norm, 1e-12) * max(xn, 1e-12))
    d2 = np.maximum(u_sq - 2.0 * dots + xn * xn, 0.0)
    top = top_indices(logits, k)
    by_cos = top_indices(cos, k)
    by_euc = top_indices(-d2, k)
    c = Closest(top, logits[top], by_cos, cos[by_cos], by_euc, np.sqrt(d2[by_euc]), xn, u_norm[top], cos[top], b[top])
    return c, logits.astype(np.float32)


def _log_softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def alpha_curve(logits_without_bias: np.ndarray, b: np.ndarray, alphas: np.ndarray = ALPHAS) -> tuple[np.ndarray, np.ndarray]:
    """Scaling x by α scales U x but not the bias: p(top) and entropy against α.
    All α at once (one (A, V) array), since this runs for every layer of a trace."""
    u = np.asarray(logits_without_bias, np.float64)
    b = np.asarray(b, np.float64)
    top = int(np.argmax(u + b))
    logp = _log_softmax_rows(np.asarray(alphas, np.float64)[:, None] * u[None, :] + b[None, :])
    p = np.exp(logp)
    return p[:, top], -(p * logp).sum(axis=1)


def temperature_curve(logits: np.ndarray, temps: np.ndarray = TEMPERATURES) -> np.ndarray:
    """Probability of the best token against temperature; T = 0 is argmax (probability 1)."""
    temps = np.asarray(temps, np.float64)
    z = np.asarray(logits, np.float64)
    out = np.ones(len(temps))
    hot = temps > 0
    if hot.any():
        logp = _log_softmax_rows(z[None, :] / temps[hot, None])
        out[hot] = np.exp(logp.max(axis=1))
    return out


def layer_lesson(x: np.ndarray, U: np.ndarray, u_norm: np.ndarray, u_sq: np.ndarray, b: np.ndarray, k: int = 10) -> LayerLesson:
    c, logits = closest(x, U, u_norm, u_sq, b, k)
    p_top, ent = alpha_curve(logits - b, b)
    return LayerLesson(c, logits, b, p_top.astype(np.float32), ent.astype(np.float32), temperature_curve(logits).astype(np.float32))


def probs_at_alpha(logits: np.ndarray, b: np.ndarray, alpha: float, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-k token ids and probabilities when the vector the unembedding sees is scaled
    by alpha (the bias is not scaled). No full probability vector: one float32 pass for
    the normaliser, float64 only for the k kept (the confidence dock calls this on
    every layer step)."""
    z = np.asarray(alpha * (logits - b) + b, np.float32)
    top = top_indices(z, k)
    m = float(z[top[0]]) if len(top) else 0.0
    total = float(np.exp(z - m, dtype=np.float32).sum(dtype=np.float64))
    return top, np.exp(z[top].astype(np.float64) - m) / total


# ---- token norms ----
@dataclass(frozen=True)
class NormHistogram:
    counts: np.ndarray
    edges: np.ndarray
    longest: np.ndarray  # token ids, longest first
    shortest: np.ndarray  # token ids, shortest first
    lengths: np.ndarray


def norm_histogram(rows: np.ndarray, bins: int = 80, n_outliers: int = 10) -> NormHistogram:
    lengths = np.linalg.norm(np.asarray(rows, np.float32), axis=1)
    counts, edges = np.histogram(lengths, bins=bins)
    order = np.argsort(lengths)
    return NormHistogram(counts, edges, order[::-1][:n_outliers].copy(), order[:n_outliers].copy(), lengths)


# ---- embed -> unembed round trip ----
def left_inverse(W_E: np.ndarray) -> np.ndarray:
    """L (V x d) with L @ W_E.T as close to the identity as least squares allows:
    the pseudo-inverse of the embedding map W_E.T (d x V).

    With more tokens than dimensions and W_E of full column rank, pinv(W_E.T) is
    W_E (W_E.T W_E)^-1: a d x d solve instead of an SVD of the whole vocabulary
    (about 5x faster for SmolLM2). Otherwise fall back to the SVD."""
    W = np.asarray(W_E, np.float64)
    V, d = W.shape
    if V > d:
        gram = W.T @ W
        try:
            if np.linalg.cond(gram) < 1e10:
                return np.linalg.solve(gram, W.T).T.astype(np.float32)
        except np.linalg.LinAlgError:
            pass
    return np.linalg.pinv(W.T).astype(np.float32)


ROUND_TRIP_MODES = ("transpose", "normalised", "pinv")


def normalised_transpose(W_E: np.ndarray) -> np.ndarray:
    """The article's normalised transpose: each row of W_E divided by its squared norm,
    so that unembedding a token's own embedding scores exactly 1.0 for that token
    (W_E[t]·W_E[t] / |W_E[t]|² = 1), and other tokens score |W_E[j]|⁻¹|W_E[t]| cos θ."""
    W = np.asarray(W_E, np.float32)
    sq = np.einsum("ij,ij->i", W, W).astype(np.float64)
    return (W / np.maximum(sq, 1e-30)[:, None].astype(np.float32)).astype(np.float32)


def unembed_for_round_trip(W_E: np.ndarray, mode: str) -> np.ndarray:
    """The matrix that unembeds a round trip: W_E itself (transpose), W_E with rows
    divided by their squared norms (normalised), or its left inverse (pinv)."""
    if mode == "transpose":
        return W_E
    if mode == "normalised":
        return normalised_transpose(W_E)
    if mode == "pinv":
        return left_inverse(W_E)
    raise ValueError(f"unknown round-trip mode {mode!r}")


def round_trip_scores(W_E: np.ndarray, token: int, unembed: np.ndarray) -> np.ndarray:
    """one-hot(token) -> embed (W_E[token]) -> unembed: scores over the whole vocabulary.
    `unembed` comes from unembed_for_round_trip."""
    return unembed @ np.asarray(W_E[token], np.float32)


def round_trip_self_fraction(W_E: np.ndarray, unembed: np.ndarray, chunk: int = 2048,
                             cancel: Callable[[], bool] | None = None,
                             progress: Callable[[float], None] | None = None) -> float | None:
    """The fraction of tokens whose round trip's highest score is the token itself.

    A V x V product in chunks (1.4e12 multiply-adds for a 49k vocabulary), so it runs in
    the worker, reports progress and stops when cancelled (returning None)."""
    V = W_E.shape[0]
    hits = 0
    for start in range(0, V, chunk):
        if cancel is not None and cancel():
            return None
        block = np.asarray(W_E[start:start + chunk], np.float32)  # (c, d)
        scores = unembed @ block.T  # (V, c)
        hits += int((np.argmax(scores, axis=0) == np.arange(start, start + len(block))).sum())
        if progress is not None:
            progress(min(1.0, (start + len(block)) / V))
    return hits / V


def tied_cosines(W_E: np.ndarray, W_U: np.ndarray) -> np.ndarray:
    """cos(W_E[t], W_U[t]) for every token: how far input and output directions part."""
    a = np.asarray(W_E, np.float32)
    b = np.asarray(W_U, np.float32)
    return (a * b).sum(1) / (np.maximum(np.linalg.norm(a, axis=1), 1e-12) * np.maximum(np.linalg.norm(b, axis=1), 1e-12))


def entropy_fraction(entropy: np.ndarray, vocab_size: int) -> np.ndarray:
    """Entropy as a fraction of its largest possible value, ln V (uniform over V tokens)."""
    return np.asarray(entropy) / max(float(np.log(max(vocab_size, 2))), 1e-9)


def top_peaks(scores: np.ndarray, k: int = 6) -> np.ndarray:
    """The k highest scores' token ids, highest first."""
    return top_indices(np.asarray(scores), k)


def cosine_histogram(cosines: np.ndarray, bins: int = 60) -> tuple[np.ndarray, np.ndarray, float]:
    """(counts, edges over [-1, 1], median) of per-token cosines."""
    counts, edges = np.histogram(cosines, bins=bins, range=(-1, 1))
    return counts, edges, float(np.median(cosines))
