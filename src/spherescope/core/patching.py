"""Activation patching's arithmetic, and steering directions. Pure numpy.

Patching copies a clean run's residual at one (layer, position) into a corrupt run and
asks how much of the clean run's logit difference comes back:
recovery = (patched − corrupt) / (clean − corrupt): 0 is nothing, 1 is all of it
(Wang et al. 2022, the IOI paper; Meng et al. 2022).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PatchGrid:
    """Recovery for every (layer, position): layer 0 is the embeddings, layer i the
    residual after block i, the last layer the residual before the final norm."""

    matrix: np.ndarray  # (L + 1, T) float64, NaN where not computed yet
    clean_diff: float  # logit(target) − logit(contrast) at the last position of the clean run
    corrupt_diff: float
    target: int
    contrast: int
    tokens: tuple  # the corrupt prompt's Token records
    clean_tokens: tuple

    def rows_done(self) -> int:
        return int(np.sum(~np.isnan(self.matrix).any(axis=1)))


@dataclass(frozen=True)
class HeadGrid:
    """Recovery for every (block, head): the head's output at the last position copied
    from the clean run into the corrupt one. Row b - 1 is block b."""

    matrix: np.ndarray  # (L, H) float64, NaN where not computed yet
    clean_diff: float
    corrupt_diff: float
    target: int
    contrast: int

    def rows_done(self) -> int:
        return int(np.sum(~np.isnan(self.matrix).any(axis=1)))


def recovery(patched: np.ndarray, clean: float, corrupt: float) -> np.ndarray:
    gap = clean - corrupt
    if not np.isfinite(gap) or abs(gap) < 1e-9:
        raise ValueError("The clean and corrupt prompts give the same logit difference: there is nothing to "
                         "recover; choose prompts (or target and contrast) that the model tells apart.")
    return (np.asarray(patched, np.float64) - corrupt) / gap


def steering_direction(w_toward: np.ndarray, w_away: np.ndarray | None = None) -> np.ndarray:
    """The unit vector of an effective unembedding row (toward a token), or of the
    difference of two (toward one, away from another)."""
    v = np.asarray(w_toward, np.float64) - (0.0 if w_away is None else np.asarray(w_away, np.float64))
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError("The steering direction has no length: choose two different tokens.")
    return (v / n).astype(np.float32)


def angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Degrees between two paths' vectors, layer by layer ((L+1, d) each)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cos = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclass(frozen=True)
class SteerSpec:
    """Add alpha x a unit direction to the residual after block `layer` (0: to the
    embeddings), at every position or at `position` only. The direction is the
    effective unembedding row of `toward`, minus that of `away` when given."""

    layer: int
    toward: int
    away: int | None = None
    alpha: float = 0.0
    position: int | None = None

    def check(self, num_layers: int, vocab_size: int, n_tokens: int | None = None) -> None:
        """ValueError (a sentence) for anything that cannot be steered."""
        if not np.isfinite(self.alpha):
            raise ValueError("The steering strength α must be a finite number.")
        if not 0 <= self.layer <= num_layers:
            raise ValueError(f"Steering layer {self.layer} is out of range: the model has layers 0..{num_layers}.")
        for name, tid in (("toward", self.toward), ("away", self.away)):
            if tid is not None and not 0 <= int(tid) < vocab_size:
                raise ValueError(f"The steering {name} token id {tid} is not in this model's vocabulary.")
        if self.away is not None and int(self.away) == int(self.toward):
            raise ValueError("Steering toward and away from the same token has no direction: choose two tokens.")
        if self.position is not None and n_tokens is not None and not -n_tokens <= self.position < n_tokens:
            raise ValueError(f"Steering position {self.position} is out of range: the prompt has {n_tokens} tokens.")


NO_CURVE = ("the Steer figure is the curve of the runs made so far: tick Steer, choose a token, and move α "
            "to two values or more")


@dataclass(frozen=True)
class SteerCurve:
    """Steering's dose-response, ready to draw: at each α the model's logit(toward) −
    logit(away) (logit(toward) alone with no away token) and its next token with its
    probability, at the followed position. The window gathers one as α moves; `render
    --view steer` and the API sweep one."""

    toward: str  # token texts
    away: str | None
    layer: int
    position: int | None  # the steered position; None: every position
    alphas: tuple[float, ...]
    diffs: tuple[float, ...]
    predictions: tuple[tuple[str, float], ...]  # (next token's text, its probability) at each α
    current: float | None = None  # the α to mark (the window's slider, or --steer-alpha)

    def problem(self) -> str | None:
        """Why there is no curve to draw, or None."""
        return NO_CURVE if len(self.alphas) < 2 else None

    def direction(self) -> str:
        """' John' − ' Mary' (or ' John' alone), as titles and summaries name it."""
        from spherescope.core.text import quoted

        return quoted(self.toward) + (f" − {quoted(self.away)}" if self.away is not None else "")

    def value_label(self) -> str:
        from spherescope.core.text import quoted

        return f"logit({quoted(self.toward)})" + (f" − logit({quoted(self.away)})" if self.away is not None else "")


def default_alphas(scale: float, count: int = 21) -> np.ndarray:
    """A symmetric sweep out to three times `scale` (the residual's length where the
    vector is added), in round steps: α is only large or small against that length."""
    top = max(1.0, 3.0 * float(scale))
    step = float(10 ** np.floor(np.log10(top / (count // 2))))
    for mult in (1, 2, 2.5, 5, 10):
        if step * mult * (count // 2) >= top:
            step *= mult
            break
    return np.round(np.arange(-(count // 2), count // 2 + 1) * step, 6)


def sweep_alphas(scale: float, current: float | None = None, given=None) -> tuple[float, ...]:
    """The α values of a sweep: `given`, else default_alphas(scale); with `current` (the α
    to mark) among them."""
    alphas = tuple(given) if given is not None else tuple(default_alphas(scale).tolist())
    if current is not None and float(current) not in alphas:
        alphas = tuple(sorted({*alphas, float(current)}))
    return alphas
