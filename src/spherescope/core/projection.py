"""The one place that decides how a d-dimensional vector becomes a 3-D point.

A basis is three orthonormal rows. Projecting keeps part of a vector's length;
`kept_fraction` reports how much, so views can be honest about what they hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spherescope.core.geometry import directions
from spherescope.core.unit_rows import UnitRows

_EPS = 1e-12


@dataclass(frozen=True)
class Basis:
    """Three orthonormal axes (3 x d, float32) and a human-readable name for each."""

    axes: np.ndarray
    kind: str
    labels: tuple[str, str, str] = ("PC1", "PC2", "PC3")
    tokens: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.axes.ndim != 2 or self.axes.shape[0] != 3:
            raise ValueError("a basis needs exactly three axes")


@dataclass(frozen=True)
class Projected:
    """Unit directions in 3-D, the original lengths, and the kept fraction of each."""

    points: np.ndarray  # (n, 3) float32, each row unit length (or zero)
    lengths: np.ndarray  # (n,) float32, length in the full space
    kept: np.ndarray  # (n,) float32 in [0, 1]: |B x| / |x|


def project(vectors: np.ndarray | UnitRows, basis: Basis) -> Projected:
    if isinstance(vectors, UnitRows):
        # The vocabulary: its rows' lengths are known (1), and the product comes from
        # the head's rows without making the directions.
        coords = vectors @ basis.axes.T
        full = vectors.lengths()
    else:
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        coords = v @ basis.axes.T
        # Row norms by einsum: linalg.norm squares into a temporary as large as the
        # input, 4x slower on the 49k-row vocabulary, and this runs on the GUI thread.
        full = np.sqrt(np.einsum("ij,ij->i", v, v))
    inplane = np.sqrt(np.einsum("ij,ij->i", coords, coords))
    kept = np.clip(inplane / np.maximum(full, _EPS), 0.0, 1.0)
    points = coords / np.maximum(inplane, _EPS)[:, None]
    return Projected(
        np.ascontiguousarray(points, dtype=np.float32),
        full.astype(np.float32),
        kept.astype(np.float32),
    )


def gram_schmidt(vectors: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Orthonormal rows spanning the given rows in order; dependent rows are dropped."""
    out: list[np.ndarray] = []
    for v in np.asarray(vectors, dtype=np.float64):
        w = v.copy()
        for u in out:
            w -= (w @ u) * u
        n = np.linalg.norm(w)
        if n > tol * max(1.0, np.linalg.norm(v)):
            out.append(w / n)
    if not out:
        return np.zeros((0, np.asarray(vectors).shape[-1]))
    return np.stack(out)


def _pca_axes(rows: np.ndarray, n: int, center: bool = True, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    # The d x d covariance is cheap even for 49k rows (d <= a few thousand), and far
    # cheaper than an SVD of the whole vocabulary. It is summed over row blocks, each
    # product in the rows' own precision (float32 for a vocabulary: twice the speed of
    # float64, ~1e-6 relative error per block) and the sum in float64. A float64 copy
    # of the whole vocabulary and a centred second copy were 450 MB of fresh memory
    # and 1.1 s per PCA on the reference machine; this is 0.2 s.
    if not isinstance(rows, UnitRows):
        rows = np.asarray(rows)
    if not np.issubdtype(rows.dtype, np.floating):
        rows = rows.astype(np.float64)
    d = rows.shape[-1]
    cov = np.zeros((d, d))
    total = np.zeros(d)
    for start in range(0, len(rows), chunk):
        x = np.asarray(rows[start:start + chunk])
        cov += x.T @ x
        total += x.sum(axis=0, dtype=np.float64)
    if center and len(rows):
        mean = total / len(rows)
        cov -= len(rows) * np.outer(mean, mean)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:n]
    axes = vecs[:, order].T
    # Fix each axis's sign so the same data always gives the same picture.
    for i, a in enumerate(axes):
        j = int(np.argmax(np.abs(a)))
        if a[j] < 0:
            axes[i] = -a
    return axes, vals[order] / max(vals.sum(), _EPS)


def _complete(axes: np.ndarray, d: int, extra: list[np.ndarray]) -> np.ndarray:
    """Fill up to three orthonormal axes from candidate vectors, then coordinate axes."""
    rows = [np.asarray(a, dtype=np.float64) for a in axes]
    candidates = [np.asarray(c, dtype=np.float64) for c in extra]
    candidates += [np.eye(d)[i] for i in range(min(d, 6))]
    for c in candidates:
        if len(rows) >= 3:
            break
        w = c.copy()
        for u in rows:
            w -= (w @ u) * u
        n = np.linalg.norm(w)
        if n > 1e-6 * max(1.0, np.linalg.norm(c)):
            rows.append(w / n)
    return np.stack(rows[:3])


PCA_ROWS = 65_536  # larger sets of rows are sampled (every k-th) for their PCA


def pca_basis(rows: np.ndarray, kind: str = "unembedding-pca", center: bool = True, unit: bool = False) -> Basis:
    """PCA of the directions of `rows` (lengths removed first so long tokens don't
    dominate). `unit`: the rows are unit already (skips a copy of them all). Over
    PCA_ROWS rows, a fixed stride sample of them gives the axes, at a fraction of the
    cost (1.4 s for a 262k-token vocabulary on the reference machine). Measured on
    SmolLM2 sampled at every other row: PC1-3 within 0.7, 1.4 and 2.6 degrees of the
    full PCA's, the same explained variances to 0.1%."""
    if len(rows) > PCA_ROWS:
        rows = rows[:: -(-len(rows) // PCA_ROWS)]
    axes, var = _pca_axes(rows if unit else directions(rows), 3, center=center)
    axes = _complete(axes, axes.shape[1], [])
    labels = tuple(f"PC{i + 1} ({100 * v:.1f}%)" for i, v in enumerate(var))
    return Basis(np.ascontiguousarray(axes, dtype=np.float32), kind, labels)  # type: ignore[arg-type]


def trajectory_basis(trajectory: np.ndarray) -> Basis:
    """PCA of one position's residual directions over the layers."""
    return pca_basis(trajectory, kind="trajectory-pca", center=True)


def out_of_plane_axis(axes: np.ndarray, path: np.ndarray) -> np.ndarray | None:
    """The trajectory's dominant direction outside the span of `axes`: the first
    singular vector of its layers' directions with the axes' components removed (each
    layer counts equally, whatever its length). Fixed for the whole trajectory, so a
    layer's position shows how far it leaves the plane, and its kept fraction is real.
    Signed so the path lies on the positive side on average. None if the path lies in
    the plane."""
    axes = np.atleast_2d(np.asarray(axes, np.float64))
    dirs = directions(np.atleast_2d(np.asarray(path, np.float64))).astype(np.float64)
    rest = dirs - (dirs @ axes.T) @ axes
    if not np.isfinite(rest).all() or np.linalg.norm(rest) < 1e-9:
        return None
    _, s, vt = np.linalg.svd(rest, full_matrices=False)
    v = vt[0]
    if float((rest @ v).sum()) < 0:
        v = -v
    return v / np.linalg.norm(v)


OUT_OF_PLANE = "path's main out-of-plane direction"


def token_plane_basis(
    token_vectors: np.ndarray,
    path: np.ndarray | None = None,
    names: tuple[str, ...] = (),
    token_ids: tuple[int, ...] = (),
) -> Basis:
    """The span of chosen token directions, made orthonormal in the order given.

    As in the article's " Mary"/" John" figure: the chosen tokens fix the first axes.
    With fewer than three tokens the last axis is the trajectory's dominant direction
    out of their plane (`out_of_plane_axis`), one fixed direction for every layer: an
    axis built from the current vector would make every layer look fully kept.
    """
    tv = np.atleast_2d(np.asarray(token_vectors, dtype=np.float64))[:3]
    if tv.shape[0] == 0:
        raise ValueError("Choose at least one token for a token-plane basis.")
    if not np.isfinite(tv).all():
        raise ValueError("A chosen token's direction is not a number; choose another token.")
    axes = gram_schmidt(directions(tv))
    if axes.shape[0] == 0:
        raise ValueError("The chosen tokens have no direction (zero vectors); choose other tokens.")
    if axes.shape[0] < tv.shape[0]:
        raise ValueError("The chosen tokens point the same way, so they span no plane; choose another pair.")
    extra = []
    if path is not None and axes.shape[0] < 3:
        v = out_of_plane_axis(axes, path)
        if v is not None:
            extra.append(v)
    full = _complete(axes, tv.shape[1], extra)
    labels = list(names[: axes.shape[0]])
    while len(labels) < axes.shape[0]:
        labels.append(f"token {len(labels) + 1}")
    while len(labels) < 3:
        labels.append(OUT_OF_PLANE if extra and len(labels) == axes.shape[0] else "other")
    return Basis(np.ascontiguousarray(full, dtype=np.float32), "token-plane", tuple(labels), tuple(token_ids))  # type: ignore[arg-type]
