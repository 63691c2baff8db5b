import numpy as np

from spherescope.core.projection import pca_basis
from spherescope.core.trajectory import Token
from spherescope.state.events import Evented, EventedField
from spherescope.core.vocab import Vocab
from spherescope.state.session import Session


class Thing(Evented):
    x = EventedField(0)
    arr = EventedField(None)


def test_evented_field_emits_only_on_real_change():
    t = Thing()
    seen = []
    t.x_changed.connect(seen.append)
    t.x = 0
    t.x = 1
    t.x = 1
    t.x = 2
    assert seen == [1, 2]
    arrs = []
    t.arr_changed.connect(arrs.append)
    t.arr = np.arange(3)
    t.arr = np.arange(3)
    assert len(arrs) == 1


def _vocab(rng, v=50, d=8):
    w = rng.normal(size=(v, d)).astype(np.float32)
    dirs = w / np.linalg.norm(w, axis=1, keepdims=True)
    texts = tuple(f"t{i}" for i in range(v))
    return Vocab(directions=dirs, lengths=np.linalg.norm(w, axis=1), texts=texts, pca=pca_basis(dirs), mean=w.mean(0),
                 raw_directions=dirs, raw_pca=pca_basis(dirs), lookup={t: i for i, t in enumerate(texts)}, completions=texts)


def test_streaming_frames_build_the_path_and_basis_follows_kind():
    rng = np.random.default_rng(0)
    s = Session()
    s.vocab = _vocab(rng)
    assert s.basis is not None and s.basis.kind == "unembedding-pca"
    s.begin_trace((Token(1, "a"), Token(2, "b")))
    assert s.position == 1
    for layer in range(5):
        s.add_frame(layer, rng.normal(size=(2, 8)).astype(np.float32))
    s.add_frame(9, rng.normal(size=(2, 8)).astype(np.float32))  # out of order: ignored
    assert s.path().shape == (5, 8)
    kinds = []
    s.basis_changed.connect(lambda: kinds.append(s.basis.kind))
    s.basis_kind = "trajectory-pca"
    assert kinds[-1] == "trajectory-pca"
    s.basis_kind = "token-plane"
    s.plane_tokens = (3, 7)
    assert s.basis.kind == "token-plane" and s.basis.tokens == (3, 7)
    proj = s.projected_path()
    assert proj.points.shape == (5, 3)
    s.position = 0
    assert not np.allclose(s.projected_path().points, proj.points)


def test_cloud_projection_uses_the_workers_copy_only_for_its_own_basis():
    import dataclasses

    from spherescope.core.projection import project

    rng = np.random.default_rng(3)
    plain = _vocab(rng)
    pre = project(plain.directions, plain.pca)
    s = Session()
    s.vocab = dataclasses.replace(plain, projected=((plain.pca, pre),))
    assert s.basis is s.vocab.pca
    assert s.cloud_projection() is pre, "the precomputed projection was not used"
    s.center_cloud = False  # the raw space: its own basis, nothing precomputed for it
    got = s.cloud_projection()
    assert got is not pre
    np.testing.assert_allclose(got.points, project(plain.raw_directions, s.basis).points, atol=1e-6)
    s.center_cloud = True
    s.basis = pca_basis(plain.directions)  # equal axes, another object: computed afresh
    assert s.cloud_projection() is not pre
    np.testing.assert_allclose(s.cloud_projection().points, pre.points, atol=1e-6)


def _trace(rng, layers=4, t=3, d=8):
    from spherescope.core.trajectory import LensTop, Trace

    res = rng.normal(size=(layers + 1, t, d)).astype(np.float32)
    lens = tuple(LensTop(np.arange(3), np.full(3, 0.3, np.float32), np.zeros(3, np.float32), 1.0)
                 for _ in range(layers + 1))
    toks = tuple(Token(i, f"t{i}") for i in range(t))
    return Trace("m", toks, t - 1, res, lens, 1.0, Token(5, "t5"), 0.5, np.zeros(50, np.float32))


def test_a_finished_run_keeps_the_streamed_path_and_the_workers_norms():
    rng = np.random.default_rng(1)
    s = Session()
    s.vocab = _vocab(rng)
    tr = _trace(rng)
    s.begin_trace(tr.tokens)
    for layer in range(tr.num_layers + 1):
        s.add_frame(layer, tr.residuals[layer].copy(), np.full(3, 7.0, np.float32))
    proj = s.projected_path()
    s.finish_trace(tr)
    assert s.projected_path() is proj, "the same rows arrived: nothing is projected again"
    assert np.all(s.all_norms() == 7.0), "the norms the worker computed, not computed again"
    assert all(np.shares_memory(a, tr.residuals) for a in s.partial), "the streamed copies are let go"


def test_a_whole_trace_is_applied_in_one_step():
    rng = np.random.default_rng(2)
    s = Session()
    s.vocab = _vocab(rng)
    s.position = 9  # out of range for the new prompt: it follows the last token
    seen = []
    s.frame_added.connect(lambda *_: seen.append("frame"))
    s.trace_started.connect(lambda: seen.append("started"))
    s.trace_finished.connect(lambda: seen.append("finished"))
    tr = _trace(rng)
    s.apply_trace(tr)
    assert seen == ["finished"] and s.available_layers() == tr.num_layers + 1 and s.position == 2
    np.testing.assert_allclose(s.all_norms(), tr.norms, rtol=1e-6)
    np.testing.assert_array_equal(s.path(), tr.residuals[:, 2])
