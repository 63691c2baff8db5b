import numpy as np
import pytest

from spherescope.core import lessons as L

rng = np.random.default_rng(7)


def _table(v=300, d=16):
    U = rng.normal(size=(v, d)).astype(np.float32) * rng.uniform(0.2, 3.0, size=(v, 1)).astype(np.float32)
    return U, np.linalg.norm(U, axis=1), (U.astype(np.float64) ** 2).sum(1)


def test_dot_list_is_the_lens_top_k_and_other_lists_match_brute_force():
    U, un, usq = _table()
    b = rng.normal(size=len(U)).astype(np.float32) * 0.1
    x = rng.normal(size=U.shape[1]).astype(np.float32) * 4
    c, logits = L.closest(x, U, un, usq, b, k=10)
    lens = U @ x + b
    assert list(c.by_dot) == list(np.argsort(-lens, kind="stable")[:10])
    np.testing.assert_allclose(logits, lens, rtol=1e-5, atol=1e-5)
    cos = (U @ x) / (un * np.linalg.norm(x))
    assert list(c.by_cos) == list(np.argsort(-cos, kind="stable")[:10])
    dist = np.linalg.norm(U - x, axis=1)
    assert list(c.by_euclid) == list(np.argsort(dist, kind="stable")[:10])
    # |x|·|u|·cos θ + b reassembles each logit.
    np.testing.assert_allclose(c.x_norm * c.u_norm * c.cos_dot + c.bias, c.logits, rtol=1e-4, atol=1e-4)


def test_probability_grows_with_alpha_when_top_logit_unique():
    logits = rng.normal(size=200)
    p, ent = L.alpha_curve(logits, np.zeros(200))
    assert p[0] == pytest.approx(1 / 200)
    assert np.all(np.diff(p) > 0)
    assert ent[0] == pytest.approx(np.log(200)) and ent[-1] < ent[0]


def test_temperature_limits():
    logits = rng.normal(size=50)
    curve = L.temperature_curve(logits, np.array([0.0, 1e-3, 1.0, 1e6]))
    assert curve[0] == 1.0 and curve[1] == pytest.approx(1.0)
    assert curve[-1] == pytest.approx(1 / 50, rel=1e-3)


def test_pseudo_inverse_round_trip_on_full_column_rank_returns_one_hot():
    W_E = rng.normal(size=(12, 20)).astype(np.float32)  # V=12 <= d=20: the embedding map is injective
    Linv = L.left_inverse(W_E)
    for t in range(12):
        s = L.round_trip_scores(W_E, t, Linv)
        np.testing.assert_allclose(s, np.eye(12)[t], atol=1e-4)
    assert L.round_trip_self_fraction(W_E, Linv, chunk=5) == 1.0


def test_transpose_round_trip_fraction_and_cancel():
    W_E = rng.normal(size=(40, 8)).astype(np.float32)
    scores = W_E @ W_E.T
    expected = float((np.argmax(scores, axis=0) == np.arange(40)).mean())
    assert L.round_trip_self_fraction(W_E, W_E, chunk=7) == pytest.approx(expected)
    assert L.round_trip_self_fraction(W_E, W_E, chunk=7, cancel=lambda: True) is None


def test_norm_histogram_and_outliers():
    rows = rng.normal(size=(500, 8))
    rows[3] *= 50
    rows[7] *= 0.001
    h = L.norm_histogram(rows, bins=20, n_outliers=3)
    assert h.counts.sum() == 500 and h.longest[0] == 3 and h.shortest[0] == 7


def test_tied_cosines():
    W = rng.normal(size=(10, 4))
    np.testing.assert_allclose(L.tied_cosines(W, W), 1.0, rtol=1e-5)
    np.testing.assert_allclose(L.tied_cosines(W, -W), -1.0, rtol=1e-5)


def test_left_inverse_matches_pinv_when_tokens_outnumber_dimensions():
    W_E = rng.normal(size=(200, 12)).astype(np.float32)
    np.testing.assert_allclose(L.left_inverse(W_E), np.linalg.pinv(W_E.astype(np.float64).T), rtol=1e-4, atol=1e-6)
    # A rank-deficient embedding falls back to the SVD and still agrees with pinv.
    W_E[:, 3] = W_E[:, 2]
    np.testing.assert_allclose(L.left_inverse(W_E), np.linalg.pinv(W_E.astype(np.float64).T), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0, 2.5, 4.0])
def test_probs_at_alpha_equals_the_full_softmax(alpha):
    from spherescope.core.geometry import softmax

    rng = np.random.default_rng(3)
    logits = rng.normal(0, 6, 5000).astype(np.float32)
    bias = np.where(rng.random(5000) < 0.1, rng.normal(0, 1, 5000), 0).astype(np.float32)
    p = softmax(alpha * (logits.astype(np.float64) - bias) + bias)
    ids = np.argsort(-p, kind="stable")[:10]
    fast_ids, fast_probs = L.probs_at_alpha(logits, bias, alpha, 10)
    np.testing.assert_allclose(fast_probs, p[ids], rtol=1e-5, atol=1e-9)
    # Ties (alpha = 0 without bias) may order equal tokens differently; their probabilities agree.
    if alpha > 0:
        assert list(fast_ids) == list(ids)
