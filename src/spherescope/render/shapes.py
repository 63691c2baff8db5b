"""Geometry the 3-D view draws, as numpy arrays: great-circle arcs along the path,
the sphere's graticule."""

from __future__ import annotations

import numpy as np

ARC_STEPS = 8  # slerp subdivisions per trajectory segment, so the path follows the sphere


def slerp_path(points: np.ndarray, radii: np.ndarray, steps: int = ARC_STEPS) -> np.ndarray:
    """Great-circle arcs between consecutive unit points, radius interpolated linearly."""
    n = len(points)
    if n < 2:
        return (points * radii[:, None]).astype(np.float32)
    t = np.linspace(0.0, 1.0, steps, endpoint=False)[None, :, None]
    a, b = points[:-1, None, :], points[1:, None, :]
    dot = np.clip(np.sum(points[:-1] * points[1:], axis=1), -1.0, 1.0)[:, None, None]
    omega = np.arccos(dot)
    sin_o = np.sin(omega)
    safe = sin_o > 1e-4
    wa = np.where(safe, np.sin((1 - t) * omega) / np.where(safe, sin_o, 1), 1 - t)
    wb = np.where(safe, np.sin(t * omega) / np.where(safe, sin_o, 1), t)
    arc = wa * a + wb * b
    arc /= np.maximum(np.linalg.norm(arc, axis=2, keepdims=True), 1e-9)
    r = (radii[:-1, None] * (1 - t[..., 0]) + radii[1:, None] * t[..., 0])[..., None]
    out = (arc * r).reshape(-1, 3)
    return np.ascontiguousarray(np.vstack([out, points[-1:] * radii[-1]]), dtype=np.float32)


def graticule(step_deg: int = 30, samples: int = 96) -> np.ndarray:
    segs = []
    u = np.linspace(0, 2 * np.pi, samples)
    for lat in range(-90 + step_deg, 90, step_deg):
        z = np.sin(np.radians(lat))
        r = np.cos(np.radians(lat))
        ring = np.stack([r * np.cos(u), r * np.sin(u), np.full_like(u, z)], axis=1)
        segs.append(np.repeat(ring, 2, axis=0)[1:-1])
    v = np.linspace(-np.pi / 2, np.pi / 2, samples // 2)
    for lon in range(0, 180, step_deg):
        a = np.radians(lon)
        meridian = np.stack([np.cos(v) * np.cos(a), np.cos(v) * np.sin(a), np.sin(v)], axis=1)
        full = np.vstack([meridian, (meridian * [-1, -1, 1])[::-1]])
        segs.append(np.repeat(full, 2, axis=0)[1:-1])
    return np.ascontiguousarray(np.vstack(segs), dtype=np.float32)


def clear_colors(n: int) -> np.ndarray:
    """Invisible per-vertex colours for an item with nothing to show. Always an array
    for items that also get per-vertex arrays: pyqtgraph keeps a pending colour upload
    across a switch to a single-colour tuple and then uploads the tuple (and raises)."""
    return np.zeros((n, 4), np.float32)
