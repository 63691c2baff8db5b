import numpy as np
import pytest

from spherescope.core import projection as pr

rng = np.random.default_rng(1)


def _orthonormal(b):
    np.testing.assert_allclose(b.axes @ b.axes.T, np.eye(3), atol=1e-5)


def test_pca_basis_finds_the_dominant_plane():
    d = 20
    # Directions spread mostly in the first three coordinates.
    rows = rng.normal(size=(500, d)) * np.r_[[5.0, 3.0, 2.0], np.full(d - 3, 0.05)]
    b = pr.pca_basis(rows)
    _orthonormal(b)
    assert np.abs(b.axes[:, :3]).sum() > 0.95 * np.abs(b.axes).sum()
    assert b.labels[0].startswith("PC1")
    # Deterministic sign: same data, same picture.
    np.testing.assert_array_equal(b.axes, pr.pca_basis(rows).axes)


@pytest.mark.parametrize("center", [True, False])
def test_pca_summed_over_row_blocks_matches_an_svd(center):
    rows = (rng.normal(size=(103, 9)) * np.linspace(4, 0.2, 9) + 1.5).astype(np.float32)
    axes, var = pr._pca_axes(rows, 3, center=center, chunk=10)  # 11 blocks, the last partial
    x = rows.astype(np.float64) - (rows.mean(axis=0) if center else 0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    # float32 rows are multiplied in float32: agreement to float32 precision.
    np.testing.assert_allclose(np.abs(np.sum(axes * vt[:3], axis=1)), 1, atol=1e-5)
    np.testing.assert_allclose(var, s[:3] ** 2 / np.sum(s ** 2), rtol=1e-5)
    np.testing.assert_allclose(axes, pr._pca_axes(rows, 3, center=center, chunk=1000)[0], atol=1e-5)
    exact, _ = pr._pca_axes(rows.astype(np.float64), 3, center=center, chunk=10)
    np.testing.assert_allclose(np.abs(np.sum(exact * vt[:3], axis=1)), 1, atol=1e-12)


def test_projection_keeps_fraction_and_unit_points():
    b = pr.Basis(np.eye(3, 6, dtype=np.float32), "test")
    v = np.array([[3, 4, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], [1, 0, 0, 1, 0, 0]], dtype=np.float32)
    p = pr.project(v, b)
    np.testing.assert_allclose(p.lengths, [5, 1, np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose(p.kept, [1, 0, 1 / np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(p.points[[0, 2]], axis=1), 1, rtol=1e-6)
    assert p.points.dtype == np.float32 and p.points.flags["C_CONTIGUOUS"]


def test_token_plane_third_axis_is_the_paths_fixed_out_of_plane_direction():
    d = 10
    mary, john = rng.normal(size=d), rng.normal(size=d)
    e1 = mary / np.linalg.norm(mary)
    e2 = john - (john @ e1) * e1
    e2 /= np.linalg.norm(e2)
    w = rng.normal(size=d)
    w -= (w @ e1) * e1 + (w @ e2) * e2
    w /= np.linalg.norm(w)
    # A path that leaves the plane along w, by different amounts, plus a little noise.
    t = np.linspace(0, 1, 31)[:, None]
    path = (np.cos(t) * e1 + np.sin(t) * e2 + (0.2 + t) * w + 0.01 * rng.normal(size=(31, d))) * np.linspace(3, 900, 31)[:, None]
    b = pr.token_plane_basis(np.vstack([mary, john]), path=path, names=(" Mary", " John"), token_ids=(5, 6))
    _orthonormal(b)
    np.testing.assert_allclose(b.axes[0], e1, atol=1e-6)
    np.testing.assert_allclose(b.axes[1], e2, atol=1e-5)
    assert abs(b.axes[2] @ w) > 0.99, "the third axis is the path's main direction out of the plane"
    assert (path @ b.axes[2]).mean() > 0, "signed so the path lies on its positive side"
    assert b.labels == (" Mary", " John", pr.OUT_OF_PLANE)
    # One axis for every layer: the basis does not depend on which layer is shown, and
    # the kept fraction is honest (the old axis built from the current vector gave 1.0).
    kept = pr.project(path, b).kept
    assert kept.max() < 1.0 and kept.min() > 0.5
    noisy_last = path.copy()
    noisy_last[-1] += 500 * rng.normal(size=d)
    kept_last = pr.project(noisy_last[-1], b).kept[0]
    assert kept_last < 0.95, "a layer that leaves the plane elsewhere keeps less than all of its length"


def test_token_plane_handles_one_token_and_rejects_bad_choices():
    b = pr.token_plane_basis(rng.normal(size=(1, 8)), path=rng.normal(size=(5, 8)))
    _orthonormal(b)
    with pytest.raises(ValueError, match="at least one"):
        pr.token_plane_basis(np.zeros((0, 8)))
    with pytest.raises(ValueError, match="no direction"):
        pr.token_plane_basis(np.zeros((2, 8)))
    v = rng.normal(size=8)
    with pytest.raises(ValueError, match="same way"):
        pr.token_plane_basis(np.vstack([v, 2 * v]))
    with pytest.raises(ValueError, match="not a number"):
        pr.token_plane_basis(np.vstack([v, np.full(8, np.nan)]))
    # Without a path the last axis is filled from coordinate axes (no trace yet).
    b = pr.token_plane_basis(rng.normal(size=(2, 8)))
    _orthonormal(b)
    assert b.labels[2] == "other"


def test_trajectory_basis_spans_a_planar_path():
    d = 12
    t = np.linspace(0, 1, 31)[:, None]
    path = np.cos(t) * np.eye(d)[0] + np.sin(t) * np.eye(d)[1] + 0.5 * np.eye(d)[2] * t
    b = pr.trajectory_basis(path * np.linspace(1, 100, 31)[:, None])
    _orthonormal(b)
    kept = pr.project(path, b).kept
    assert kept.min() > 0.99
