"""The article's plane: a hidden state's coordinates in the plane of two token directions,
the pair of tokens worth putting there, and what a residual norm that dwarfs the
others is made of.

Pure numpy. The token directions are the ones the sphere draws (the centred effective
unembedding rows, core.vocab), so the plane and the sphere agree.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

_EPS = 1e-12


def plane_axes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(2, d) orthonormal axes: along `first`, then `second` made orthogonal to it.
    ValueError (a sentence) for a direction of zero length or two parallel ones."""
    a = np.asarray(first, np.float64)
    b = np.asarray(second, np.float64)
    na = np.linalg.norm(a)
    if na < _EPS or np.linalg.norm(b) < _EPS:
        raise ValueError("One of the plane's tokens has no direction (a zero row); choose another token.")
    e1 = a / na
    rest = b - (b @ e1) * e1
    nr = np.linalg.norm(rest)
    if nr < 1e-6 * np.linalg.norm(b):
        raise ValueError("The plane's two tokens point the same way, so they span no plane; choose another pair.")
    return np.stack([e1, rest / nr])


@dataclass(frozen=True)
class PlanePath:
    """A trajectory in the plane of two tokens, unnormalised (the article's figure)."""

    x: np.ndarray  # (n,) coordinate along the first token's direction
    y: np.ndarray  # (n,) along the second's, made orthogonal to the first
    norm: np.ndarray  # (n,) |h| in the full space
    second_angle: float  # degrees from the first token's direction to the second's

    @property
    def kept(self) -> np.ndarray:
        """sqrt(x² + y²) / |h|: the share of the vector's length that lies in the plane."""
        return np.hypot(self.x, self.y) / np.maximum(self.norm, _EPS)

    @property
    def angle(self) -> np.ndarray:
        """Degrees from the first token's direction within the plane, counter-clockwise
        toward the second. Only the part of h in the plane counts: where the plane keeps
        little of |h|, this is far smaller than the true angle (`true_angle`)."""
        return np.degrees(np.arctan2(self.y, self.x))

    @property
    def cos_first(self) -> np.ndarray:
        """cos of the angle between h itself and the first token's direction: x / |h|."""
        return self.x / np.maximum(self.norm, _EPS)

    @property
    def true_angle(self) -> np.ndarray:
        """Degrees between h itself (all of it, not its shadow in the plane) and the
        first token's direction; what a cosine over the whole space says."""
        return np.degrees(np.arccos(np.clip(self.cos_first, -1.0, 1.0)))


def plane_path(path: np.ndarray, first: np.ndarray, second: np.ndarray) -> PlanePath:
    axes = plane_axes(first, second)
    p = np.atleast_2d(np.asarray(path, np.float64))
    coords = p @ axes.T
    b = np.asarray(second, np.float64)
    angle = float(np.degrees(np.arctan2(b @ axes[1], b @ axes[0])))
    return PlanePath(coords[:, 0], coords[:, 1], np.linalg.norm(p, axis=1), angle)


def log_radial(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same angles with radius r drawn as log10(1 + r): early layers (|h| of a few
    units) and late ones (hundreds) fit in one picture, and r = 0 stays at the origin."""
    r = np.hypot(x, y)
    scale = np.log10(1.0 + r) / np.maximum(r, _EPS)
    return x * scale, y * scale


def _is_word(text: str) -> bool:
    """Not only whitespace and punctuation (what a person would not call a contrast)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _shape(text: str) -> tuple[bool, bool]:
    """Capitalised? a number? (' Mary' and ' John' share a shape; ' the' has another)."""
    word = text.strip()[:1]
    return word.isupper(), word.isdigit()


def contrast_pair(ranked: np.ndarray, prompt_ids, texts) -> tuple[int, int] | None:
    """The pair a person would put in the plane: the top prediction, then the
    highest-ranked candidate that also occurs in the prompt, one of the prediction's
    shape first (' John' against ' Mary' after "When Mary and John went to the store,
    John bought flowers for", not ' the', which ranks higher and is in the prompt too);
    failing that, the runner-up that is a word, not whitespace or punctuation.
    `ranked`: token ids, best first. None when no second token qualifies."""
    ids = [int(i) for i in ranked]
    if not ids:
        return None
    top = ids[0]
    in_prompt = {int(i) for i in prompt_ids}
    candidates = [i for i in ids[1:] if i in in_prompt and i != top]
    for i in candidates:
        if _shape(texts[i]) == _shape(texts[top]) and _is_word(texts[i]):
            return top, i
    for i in candidates:
        return top, i
    for i in ids[1:]:
        if i != top and _is_word(texts[i]):
            return top, i
    return None


@dataclass(frozen=True)
class Sink:
    """A position whose residual norm dwarfs the others', and what carries it."""

    position: int
    layer: int  # where its norm peaks
    norm: float
    ratio: float  # its peak norm over the median of the other positions' peaks
    dims: tuple[int, ...]  # the fewest dimensions holding most of |h|² there
    share: float  # the share of |h|² those dimensions hold


def find_sinks(norms: np.ndarray, residuals: np.ndarray | None = None, ratio: float = 5.0,
               share: float = 0.9, max_dims: int = 3) -> list[Sink]:
    """Positions whose peak norm is at least `ratio` times the median peak of the others
    (SmolLM2's first token: 2.5·10⁴ against about 900). With the residuals, name the
    dimensions carrying it (Sun et al. 2024, "massive activations": a few fixed
    dimensions reach huge values at the first token)."""
    norms = np.asarray(norms, np.float64)  # (layers, positions)
    if norms.ndim != 2 or norms.shape[1] < 2:
        return []
    peaks = norms.max(axis=0)
    out = []
    for p in range(norms.shape[1]):
        others = np.delete(peaks, p)
        ref = float(np.median(others))
        if ref <= 0 or peaks[p] < ratio * ref:
            continue
        layer = int(np.argmax(norms[:, p]))
        dims: tuple[int, ...] = ()
        held = 0.0
        if residuals is not None:
            h = np.asarray(residuals[layer, p], np.float64)
            sq = h * h / max(float(h @ h), _EPS)
            order = np.argsort(-sq)
            for k in range(1, max_dims + 1):
                held = float(sq[order[:k]].sum())
                if held >= share:
                    break
            dims = tuple(int(i) for i in order[:k])
        out.append(Sink(p, layer, float(peaks[p]), float(peaks[p] / ref), dims, held))
    return out
