"""The vocabulary's token directions, kept as a recipe instead of a V x d array.

A token direction is the unit row of (U * g - m): U the head's rows, g the final
norm's gain folded in, m the mean row removed by centring. Stored, the directions
are another V x d float32 array (113 MB for SmolLM2, 671 MB for a 262k-token
vocabulary) beside U, which the model already holds (mapped from its weights file).
Everything the views do with them is a product with a few vectors (a projection
onto three axes) or a handful of rows (the plane tokens), and both come from U for
the same cost: (U * g - m) @ B = U @ (g B) - m B, divided by each row's length.
So only U (shared with the model), g, m and the V row lengths are kept.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12
_CHUNK = 8192


class UnitRows:
    """Unit rows of `base * scale - shift` (zero rows stay zero), computed on use.

    Indexing with ints or lists gives the rows as a float32 array; a slice gives
    another UnitRows over the same memory (no copy); `@ M` gives the product with a
    (d, k) matrix without making any V x d temporary; `np.asarray` makes the whole
    array (tests and rare paths only)."""

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, base: np.ndarray, scale: np.ndarray | None = None, shift: np.ndarray | None = None,
                 norms: np.ndarray | None = None):
        if base.ndim != 2:
            raise ValueError("UnitRows needs a 2-D base")
        self.base = base
        self.scale = None if scale is None else np.asarray(scale, np.float32)
        self.shift = None if shift is None else np.asarray(shift, np.float32)
        self.norms = row_norms(base, self.scale, self.shift) if norms is None else np.asarray(norms, np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return self.base.shape  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.base)

    def _finish(self, rows: np.ndarray, norms) -> np.ndarray:
        x = np.asarray(rows, np.float32)
        if self.scale is not None:
            x = x * self.scale
        if self.shift is not None:
            x = x - self.shift
        return (x / np.maximum(norms, _EPS)[..., None]).astype(np.float32, copy=False)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return UnitRows(self.base[key], self.scale, self.shift, self.norms[key])
        return self._finish(self.base[key], self.norms[key])

    def __matmul__(self, m: np.ndarray) -> np.ndarray:
        """(V, k) float32: the rows' products with the columns of m (d, k)."""
        m = np.asarray(m, np.float32)
        mm = m * self.scale[:, None] if self.scale is not None else m
        out = np.asarray(self.base @ mm, np.float32)
        if self.shift is not None:
            out -= self.shift @ m
        out /= np.maximum(self.norms, _EPS)[:, None]
        return out

    def lengths(self) -> np.ndarray:
        """(V,) each row's own length: 1, or 0 for a zero row."""
        return (self.norms > _EPS).astype(np.float32)

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, np.float32)
        for start in range(0, len(self), _CHUNK):
            out[start:start + _CHUNK] = self._finish(self.base[start:start + _CHUNK], self.norms[start:start + _CHUNK])
        return out if dtype is None else out.astype(dtype, copy=False)

    @property
    def nbytes(self) -> int:
        """The bytes this object holds of its own (the base is shared)."""
        return int(self.norms.nbytes)


def row_norms(base: np.ndarray, scale: np.ndarray | None = None, shift: np.ndarray | None = None) -> np.ndarray:
    """(V,) float32 lengths of the rows of base * scale - shift, block by block: no
    V x d temporary."""
    out = np.empty(len(base), np.float32)
    for start in range(0, len(base), _CHUNK):
        x = np.asarray(base[start:start + _CHUNK], np.float32)
        if scale is not None:
            x = x * scale
        if shift is not None:
            x = x - shift
        out[start:start + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", x, x))
    return out


def scaled_mean(base: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """(d,) float32 mean row of base * scale (the scale is per column, so it can wait
    until after the mean)."""
    mean = np.asarray(base).mean(axis=0, dtype=np.float64)
    if scale is not None:
        mean = mean * scale
    return mean.astype(np.float32)
