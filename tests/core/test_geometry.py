import numpy as np
import pytest

from spherescope.core import geometry as g

rng = np.random.default_rng(0)


def test_directions_are_unit_and_zero_safe():
    v = np.vstack([rng.normal(size=(5, 7)), np.zeros((1, 7))]).astype(np.float32)
    d = g.directions(v)
    np.testing.assert_allclose(np.linalg.norm(d[:5], axis=1), 1.0, rtol=1e-5)
    assert np.all(d[5] == 0)
    np.testing.assert_allclose(g.lengths(v), np.linalg.norm(v, axis=1), rtol=1e-6)


def test_neighbour_lists_match_brute_force():
    table = rng.normal(size=(200, 16)).astype(np.float32) * rng.uniform(0.2, 3, size=(200, 1)).astype(np.float32)
    h = rng.normal(size=16).astype(np.float32) * 5
    idx, val = g.top_by_dot(h, table, 10)
    assert list(idx) == list(np.argsort(-(table @ h), kind="stable")[:10])
    cos = (table @ h) / (np.linalg.norm(table, axis=1) * np.linalg.norm(h))
    idx, val = g.top_by_cosine(h, table, 10)
    assert list(idx) == list(np.argsort(-cos, kind="stable")[:10])
    np.testing.assert_allclose(val, cos[idx], rtol=1e-5)
    dist = np.linalg.norm(table - h, axis=1)
    idx, val = g.top_by_euclid(h, table, 10)
    assert list(idx) == list(np.argsort(dist, kind="stable")[:10])
    np.testing.assert_allclose(val, dist[idx], rtol=1e-4)


def test_euclid_list_differs_from_dot_when_lengths_vary():
    # A long token far away wins the logit; a short token nearby wins Euclid.
    table = np.array([[10.0, 0.0], [0.9, 0.5]], dtype=np.float32)
    h = np.array([1.0, 0.3], dtype=np.float32)
    assert g.top_by_dot(h, table, 1)[0][0] == 0
    assert g.top_by_euclid(h, table, 1)[0][0] == 1


def test_softmax_temperature_limits():
    logits = np.array([1.0, 3.0, 2.0, 3.0 - 1e-3])
    np.testing.assert_array_equal(g.softmax(logits, 0.0), [0, 1, 0, 0])
    hot = g.softmax(logits, 1e6)
    np.testing.assert_allclose(hot, 0.25, atol=1e-5)
    p = g.softmax(logits, 1.0)
    assert p.sum() == pytest.approx(1.0)
    assert g.entropy(hot) == pytest.approx(np.log(4), rel=1e-5)
    assert g.entropy(g.softmax(logits, 0.0)) == 0.0
    with pytest.raises(ValueError):
        g.softmax(logits, -1)


def test_top_prob_grows_with_length_when_top_logit_unique():
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    probs = [g.softmax(a * logits).max() for a in np.linspace(0, 4, 9)]
    assert probs[0] == pytest.approx(0.25)
    assert all(b > a for a, b in zip(probs, probs[1:]))
