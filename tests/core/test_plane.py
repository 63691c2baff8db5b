"""The article's plane, the contrast pair, the log-radial scale and attention sinks,
against independent numpy computations."""

import numpy as np
import pytest

from spherescope.core import plane as pl

rng = np.random.default_rng(7)


def test_plane_coordinates_match_a_qr_decomposition():
    d = 40
    a, b = rng.normal(size=d), rng.normal(size=d)
    path = rng.normal(size=(31, d)) * np.linspace(1, 500, 31)[:, None]
    p = pl.plane_path(path, a, b)
    # Independently: QR of [a b] gives an orthonormal basis of the same plane, in order.
    q, r = np.linalg.qr(np.stack([a, b], axis=1))
    q = q * np.sign(np.diag(r))  # first axis along +a, second toward +b
    np.testing.assert_allclose(p.x, path @ q[:, 0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p.y, path @ q[:, 1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(p.kept, np.hypot(path @ q[:, 0], path @ q[:, 1]) / np.linalg.norm(path, axis=1))
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    assert p.second_angle == pytest.approx(np.degrees(np.arccos(cos)))
    # A vector along a lies on the x axis; along b, at the angle between them.
    on = pl.plane_path(np.stack([3 * a, 2 * b]), a, b)
    assert on.angle[0] == pytest.approx(0, abs=1e-9) and on.angle[1] == pytest.approx(p.second_angle)
    assert on.kept == pytest.approx(1.0)


@pytest.mark.parametrize("a, b, pattern", [
    (np.zeros(5), np.ones(5), "no direction"),
    (np.ones(5), 3 * np.ones(5), "same way"),
])
def test_a_plane_needs_two_directions(a, b, pattern):
    with pytest.raises(ValueError, match=pattern):
        pl.plane_axes(a, b)


def test_log_radial_keeps_angles_and_spreads_small_radii():
    x, y = np.array([0.0, 3.0, 300.0]), np.array([0.0, 4.0, 400.0])
    lx, ly = pl.log_radial(x, y)
    np.testing.assert_allclose(np.hypot(lx, ly), np.log10(1 + np.array([0, 5, 500])))
    np.testing.assert_allclose(np.arctan2(ly[1:], lx[1:]), np.arctan2(y[1:], x[1:]))
    assert lx[0] == ly[0] == 0


def test_contrast_pair_prefers_a_candidate_from_the_prompt():
    texts = [" Mary", " ", " himself", " John", ",", " the", "John"]
    # The article's case: after ' Mary' come a space and ' himself', then ' John', which the prompt has.
    assert pl.contrast_pair([0, 1, 2, 3, 5], prompt_ids=[6, 0, 3], texts=texts) == (0, 3)
    # No candidate from the prompt: the runner-up that is a word, not a space or a comma.
    assert pl.contrast_pair([0, 1, 4, 2], prompt_ids=[5], texts=texts) == (0, 2)
    assert pl.contrast_pair([0, 1, 4], prompt_ids=[], texts=texts) is None
    assert pl.contrast_pair([], prompt_ids=[], texts=texts) is None


def test_contrast_pair_prefers_the_predictions_shape_among_prompt_tokens():
    texts = [" Mary", " the", " John", " store"]
    # ' the' ranks above ' John' and both are in the prompt: a name is contrasted with a name.
    assert pl.contrast_pair([0, 1, 2], prompt_ids=[0, 2, 1, 3], texts=texts) == (0, 2)
    # No candidate of the same shape: the best one from the prompt.
    assert pl.contrast_pair([0, 1, 3], prompt_ids=[1, 3], texts=texts) == (0, 1)


def test_a_sink_position_is_found_with_the_dimensions_that_carry_it():
    layers, positions, d = 6, 5, 32
    res = rng.normal(size=(layers, positions, d))
    res[2:, 0, 7] = 2000.0  # a massive activation at the first position from layer 2 on
    norms = np.linalg.norm(res, axis=2)
    sinks = pl.find_sinks(norms, res)
    assert [s.position for s in sinks] == [0]
    s = sinks[0]
    assert s.dims == (7,) and s.share > 0.99 and s.ratio > 100 and s.layer >= 2
    assert pl.find_sinks(np.linalg.norm(rng.normal(size=(layers, positions, d)), axis=2)) == [], "no sink in noise"
