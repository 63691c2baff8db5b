"""A prompt set in the article's plane: each prompt in its own plane of target and
contrast, drawn on one pair of axes, with the quartiles of its angle per layer."""

import numpy as np
import pytest

from spherescope.core.plane import plane_path
from spherescope.core.set_plane import set_plane
from spherescope.core.set_results import PromptTrace, plane_of, summarize
from spherescope.core.trajectory import LensTop, Token


def _trace(i, path, first, second):
    plane, apart = plane_of(path, first, second)
    top = LensTop(np.array([1]), np.array([1.0]), np.array([0.0]), 0.0)
    return PromptTrace(i, f"p{i}", (Token(1, "a"),), 0, path.astype(np.float32), (top,) * len(path),
                       Token(1, "a"), 1.0, 1, 2, 1.0, np.zeros(len(path)), None, plane, apart)


def _set(n=9, layers=5, d=6, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        path, first, second = rng.normal(size=(layers, d)) * (1 + np.arange(layers))[:, None], rng.normal(size=d), rng.normal(size=d)
        rows.append((path, first, second))
    return rows, summarize([_trace(i, *r) for i, r in enumerate(rows)])


def test_each_prompt_lies_in_its_own_plane_on_one_pair_of_axes():
    rows, summary = _set()
    sp = set_plane(summary)
    assert sp.n == 9 and sp.x.shape == (9, 5)
    for k, (path, first, second) in enumerate(rows):
        single = plane_path(path.astype(np.float32), first, second)
        np.testing.assert_allclose(sp.x[k], single.x, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(sp.y[k], single.y, rtol=1e-5, atol=1e-5)
    assert sp.apart == pytest.approx(np.median([plane_path(p, a, b).second_angle for p, a, b in rows]))
    angles = np.degrees(np.arctan2(sp.y, sp.x))
    np.testing.assert_allclose(sp.angle, np.percentile(angles, [25, 50, 75], axis=0), atol=1e-3)
    np.testing.assert_allclose(sp.radius, np.median(np.hypot(sp.x, sp.y), axis=0), rtol=1e-5)
    assert np.all(sp.kept[0] <= sp.kept[1]) and np.all(sp.kept[1] <= sp.kept[2]) and np.all(sp.kept[2] <= 1 + 1e-9)


def test_the_median_path_and_the_quartile_arcs():
    _rows, summary = _set()
    sp = set_plane(summary)
    mx, my = sp.median_xy()
    np.testing.assert_allclose(np.degrees(np.arctan2(my, mx)), sp.angle[1], atol=1e-6)
    np.testing.assert_allclose(np.hypot(mx, my), sp.radius, rtol=1e-9)
    ax, ay = sp.arcs_xy(steps=10)
    assert ax.shape == (5, 11) and np.isnan(ax[:, -1]).all()
    ends = np.degrees(np.arctan2(ay[:, [0, 9]], ax[:, [0, 9]]))
    np.testing.assert_allclose(ends, sp.angle[[0, 2]].T, atol=1e-6)
    np.testing.assert_allclose(np.hypot(ax[:, :-1], ay[:, :-1]), np.repeat(sp.radius[:, None], 10, 1), rtol=1e-9)


def test_no_plane_without_target_and_contrast():
    _rows, summary = _set()
    from dataclasses import replace

    assert set_plane(None) is None
    assert set_plane(replace(summary, plane_angle=None, plane_kept=None)) is None
