"""A prompt set's results: each prompt's path and numbers, and what they say together.

Means come with quartiles (how the prompts spread) or with a 95% interval of the mean
(how sure the mean is: ±1.96 standard errors), and the accuracy is the share of prompts
whose target beats its contrast (or, without a contrast, is the model's top token).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spherescope.core.attribution import Attribution
from spherescope.core.trajectory import LensTop, Token


@dataclass(frozen=True)
class PromptTrace:
    """One prompt of a set, traced at its followed position (the last by default)."""

    index: int  # its row in the set (0-based)
    prompt: str
    tokens: tuple[Token, ...]
    position: int
    path: np.ndarray  # (L+1, d) float32: the residual at `position`, layer by layer
    lens: tuple[LensTop, ...]  # the lens's top tokens at every layer
    next_token: Token
    next_prob: float
    target: int | None = None
    contrast: int | None = None
    final_diff: float | None = None  # the model's logit(target) − logit(contrast) (the target's logit alone)
    lens_diff: np.ndarray | None = None  # (L+1,) the same through the lens at every layer
    attribution: Attribution | None = None
    plane: np.ndarray | None = None  # (2, L+1): degrees from the target in its plane with the contrast, share of |h| kept
    plane_apart: float | None = None  # degrees from the target's direction to the contrast's

    @property
    def norms(self) -> np.ndarray:
        return np.linalg.norm(self.path, axis=1)

    @property
    def correct(self) -> bool | None:
        if self.target is None or self.final_diff is None:
            return None
        if self.contrast is None:
            return self.next_token.id == self.target
        return self.final_diff > 0


def interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 95% interval of the mean (normal approximation): (low, high)."""
    v = np.asarray(values, np.float64)
    n = v.shape[axis]
    mean = v.mean(axis=axis)
    if n < 2:
        return mean, mean
    half = 1.96 * v.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class SetSummary:
    n: int
    norms: np.ndarray  # (N, L+1)
    final_diff: np.ndarray | None = None  # (N,)
    lens_diff: np.ndarray | None = None  # (N, L+1)
    correct: np.ndarray | None = None  # (N,) bool
    embed: np.ndarray | None = None  # (N,) attribution terms, each prompt's final norm scale frozen
    attn: np.ndarray | None = None  # (N, L)
    mlp: np.ndarray | None = None  # (N, L)
    heads: np.ndarray | None = None  # (N, L, H)
    plane_angle: np.ndarray | None = None  # (N, L+1) each prompt in its own plane of target and contrast
    plane_kept: np.ndarray | None = None  # (N, L+1)
    plane_apart: np.ndarray | None = None  # (N,) degrees from each prompt's target to its contrast
    prompts: tuple[str, ...] = field(default=(), repr=False)

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None else float(self.correct.mean())

    @property
    def final_diff_mean(self) -> float | None:
        return None if self.final_diff is None else float(self.final_diff.mean())

    def lens_quartiles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(q25, median, q75) of the lens's difference at each layer."""
        q = np.percentile(self.lens_diff, [25, 50, 75], axis=0)
        return q[0], q[1], q[2]

    @property
    def has_attribution(self) -> bool:
        return self.attn is not None


def summarize(traces: list[PromptTrace]) -> SetSummary:
    """The set's numbers from its prompts' traces (in any order: sorted by row here)."""
    if not traces:
        raise ValueError("A set summary needs at least one traced prompt.")
    ts = sorted(traces, key=lambda t: t.index)
    norms = np.stack([t.norms for t in ts]).astype(np.float64)
    with_diff = all(t.final_diff is not None for t in ts)
    ats = [t.attribution for t in ts]
    with_attr = all(a is not None for a in ats)
    with_heads = with_attr and all(a.heads is not None for a in ats)
    return SetSummary(
        n=len(ts), norms=norms,
        final_diff=np.array([t.final_diff for t in ts], np.float64) if with_diff else None,
        lens_diff=np.stack([t.lens_diff for t in ts]).astype(np.float64) if with_diff else None,
        correct=np.array([bool(t.correct) for t in ts]) if with_diff else None,
        embed=np.array([a.embed for a in ats], np.float64) if with_attr else None,
        attn=np.stack([a.attn for a in ats]).astype(np.float64) if with_attr else None,
        mlp=np.stack([a.mlp for a in ats]).astype(np.float64) if with_attr else None,
        heads=np.stack([a.heads for a in ats]).astype(np.float64) if with_heads else None,
        prompts=tuple(t.prompt for t in ts),
        plane_angle=np.stack([t.plane[0] for t in ts]) if all(t.plane is not None for t in ts) else None,
        plane_kept=np.stack([t.plane[1] for t in ts]) if all(t.plane is not None for t in ts) else None,
        plane_apart=(np.array([t.plane_apart for t in ts], np.float64)
                     if all(t.plane is not None and t.plane_apart is not None for t in ts) else None),
    )


def plane_of(path: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, float]:
    """The article's figure for one prompt, as numbers: (2, L+1), at each layer the angle
    (degrees) of h from `first` within the plane of the two directions and the share of
    |h| the plane keeps; and the degrees from `first` to `second`."""
    from spherescope.core.plane import plane_axes

    axes = plane_axes(first, second)
    p = np.asarray(path, np.float64)
    xy = p @ axes.T
    r = np.hypot(xy[:, 0], xy[:, 1])
    b = np.asarray(second, np.float64)
    apart = float(np.degrees(np.arctan2(b @ axes[1], b @ axes[0])))
    return np.stack([np.degrees(np.arctan2(xy[:, 1], xy[:, 0])), r / np.maximum(np.linalg.norm(p, axis=1), 1e-12)]), apart


def median_path(paths: np.ndarray) -> np.ndarray:
    """The bold path of a bundle (N, L+1, d) -> (L+1, d): at each layer, the direction of
    the component-wise median of the unit directions, with the median length. A mean
    would be pulled by one prompt far off; the median of lengths keeps the article's
    growth of the norm."""
    p = np.asarray(paths, np.float64)
    norms = np.linalg.norm(p, axis=2, keepdims=True)
    units = p / np.where(norms > 0, norms, 1.0)
    med = np.median(units, axis=0)
    med_len = np.linalg.norm(med, axis=1, keepdims=True)
    med = med / np.where(med_len > 0, med_len, 1.0)
    return (med * np.median(norms, axis=0)).astype(np.float32)


def quartile_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q25, median, q75) along the first axis."""
    q = np.percentile(np.asarray(values, np.float64), [25, 50, 75], axis=0)
    return q[0], q[1], q[2]
