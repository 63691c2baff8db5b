"""The article's figure for a prompt set: every prompt in its own plane of its target and
contrast, and the distribution of where they lie, layer by layer.

Each prompt has its own pair of tokens, so there is no one plane to project into; but
in each prompt's own plane the target is along x and the contrast at some angle above
it, so the prompts' coordinates can be drawn on one pair of axes. What the set says is
then the median and quartiles of the in-plane angle, the median length in the plane,
and the share of |h| the plane keeps (the article's caveat, over the set). Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SetPlane:
    x: np.ndarray  # (N, L+1) along each prompt's target
    y: np.ndarray  # (N, L+1) along its contrast made orthogonal to the target
    angle: np.ndarray  # (3, L+1) q25, median, q75 of the in-plane angle from the target (degrees)
    kept: np.ndarray  # (3, L+1) q25, median, q75 of the share of |h| the plane keeps
    radius: np.ndarray  # (L+1,) the median length within the plane
    norm: np.ndarray  # (L+1,) the median |h|
    apart: float | None  # the median angle from target to contrast (degrees)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def at(self, angle: np.ndarray, radius: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Points at `angle` (degrees, per layer) and the median in-plane length."""
        r = self.radius if radius is None else radius
        t = np.radians(angle)
        return r * np.cos(t), r * np.sin(t)

    def median_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The set's path: the median angle at the median length (a median of points
        would mix prompts whose lengths differ tenfold)."""
        return self.at(self.angle[1])

    def arcs_xy(self, steps: int = 24) -> tuple[np.ndarray, np.ndarray]:
        """(L+1, steps + 1) each: at each layer an arc at the median length from the
        angle's lower quartile to its upper one, the middle half of the prompts'
        directions; the last column is NaN, to break a line between layers."""
        t = np.linspace(0.0, 1.0, steps)
        angles = self.angle[0][:, None] + (self.angle[2] - self.angle[0])[:, None] * t[None, :]
        x, y = self.at(angles, self.radius[:, None])
        gap = np.full((x.shape[0], 1), np.nan)
        return np.hstack([x, gap]), np.hstack([y, gap])


def set_plane(summary) -> SetPlane | None:
    """From a core.set_results.SetSummary with plane numbers (a target and a contrast in
    every row); None without them."""
    if summary is None or summary.plane_angle is None or summary.plane_kept is None:
        return None
    angle = np.asarray(summary.plane_angle, np.float64)
    kept = np.asarray(summary.plane_kept, np.float64)
    norms = np.asarray(summary.norms, np.float64)
    r = kept * norms
    t = np.radians(angle)
    apart = None if summary.plane_apart is None else float(np.median(summary.plane_apart))
    return SetPlane(r * np.cos(t), r * np.sin(t), np.percentile(angle, [25, 50, 75], axis=0),
                    np.percentile(kept, [25, 50, 75], axis=0), np.median(r, axis=0), np.median(norms, axis=0), apart)
