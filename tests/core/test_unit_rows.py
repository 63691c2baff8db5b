"""UnitRows stands in for the vocabulary's V x d directions: it must give exactly what
the stored array gave, through every way the views use it."""

import numpy as np
import pytest

from spherescope.core.projection import Basis, pca_basis, project
from spherescope.core.unit_rows import UnitRows, row_norms, scaled_mean


def _stored(base, scale, shift):
    x = base * (scale if scale is not None else 1) - (shift if shift is not None else 0)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


@pytest.fixture(params=["plain", "scaled", "centred", "scaled+centred"])
def case(request):
    rng = np.random.default_rng(4)
    base = rng.normal(size=(300, 16)).astype(np.float32)
    base[7] = 0.0  # a zero row stays zero
    scale = rng.uniform(0.2, 3, 16).astype(np.float32) if "scaled" in request.param else None
    shift = scaled_mean(base, scale) if "centred" in request.param else None
    return base, scale, shift


def test_every_use_matches_the_stored_rows(case):
    base, scale, shift = case
    rows = UnitRows(base, scale, shift)
    want = _stored(base, scale, shift)
    assert rows.shape == want.shape and len(rows) == len(want)
    np.testing.assert_allclose(np.asarray(rows), want, atol=1e-6)
    np.testing.assert_allclose(rows[5], want[5], atol=1e-6)
    np.testing.assert_allclose(rows[[9, 2, 9]], want[[9, 2, 9]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(rows[10:40:3]), want[10:40:3], atol=1e-6)
    m = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32)
    np.testing.assert_allclose(rows @ m, want @ m, atol=1e-5)
    if shift is None:
        np.testing.assert_array_equal(rows[7], np.zeros(16, np.float32))
    np.testing.assert_allclose(rows.lengths(), np.linalg.norm(want, axis=1), atol=1e-6)


def test_a_slice_shares_the_base_and_copies_nothing(case):
    base, scale, shift = case
    rows = UnitRows(base, scale, shift)
    part = rows[::4]
    assert isinstance(part, UnitRows) and np.shares_memory(part.base, base)
    assert rows.nbytes == 4 * len(base)  # only the row lengths are its own


def test_projection_and_pca_are_those_of_the_stored_rows(case):
    base, scale, shift = case
    rows = UnitRows(base, scale, shift)
    want = _stored(base, scale, shift)
    b1, b2 = pca_basis(rows, unit=True), pca_basis(want, unit=True)
    np.testing.assert_allclose(b1.axes, b2.axes, atol=1e-5)
    basis = Basis(b2.axes, "test")
    p1, p2 = project(rows, basis), project(want, basis)
    np.testing.assert_allclose(p1.points, p2.points, atol=1e-5)
    np.testing.assert_allclose(p1.kept, p2.kept, atol=1e-5)
    np.testing.assert_allclose(p1.lengths, p2.lengths, atol=1e-5)


def test_row_norms_are_those_of_the_scaled_shifted_rows(case):
    base, scale, shift = case
    x = base * (scale if scale is not None else 1) - (shift if shift is not None else 0)
    np.testing.assert_allclose(row_norms(base, scale, shift), np.linalg.norm(x, axis=1), rtol=1e-5)


def test_a_base_that_is_not_a_matrix_is_refused():
    with pytest.raises(ValueError):
        UnitRows(np.zeros(5, np.float32))
