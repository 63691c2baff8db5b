"""The numbers behind each view, as a table: File › Export Data writes them as CSV or
JSON, with the column names of the Python API's `to_pandas()` (spherescope.model_api),
so a table from the window and one from a notebook line up."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from spherescope.state.session import Session


def view_table(session: Session, view: str, steer=None) -> tuple[list[str], list[list]]:
    """(columns, rows) of what `view` shows now; ValueError (a sentence) when it shows
    nothing yet. `steer`: the Steer tab's core.patching.SteerCurve."""
    if view == "steer":
        if steer is None or steer.problem() is not None:
            raise ValueError("The steer view has no numbers yet: tick Steer, choose a token and move α.")
        return steer_rows(steer)
    fn = _TABLES.get(view)
    if fn is None:
        raise ValueError(f"The {view} view has no numbers to export.")
    cols, rows = fn(session)
    if not rows:
        raise ValueError(f"The {view} view has no numbers yet: {_EMPTY.get(view, 'run a prompt first')}.")
    return cols, rows


_EMPTY = {"set": "open a prompt set and run it", "set-patching": "press Patch pairs in the Prompt set tab",
          "set-head-patching": "press Patch heads in the Prompt set tab",
          "set-steering": "run the set, then Sweep the set on its Steering page"}


def _path_rows(s: Session):
    path = s.path()
    if path is None:
        return [], []
    norms = np.linalg.norm(path.astype(np.float64), axis=1)
    cols = ["layer", "norm", "top_id", "top_text", "top_prob"]
    lens = s.lens_by_position.get(s.position if 0 <= s.position < len(s.tokens) else len(s.tokens) - 1)
    rows = []
    for i, n in enumerate(norms):
        top = lens[i] if lens is not None and i < len(lens) else None
        rows.append([i, float(n), int(top.ids[0]) if top else None,
                     s.vocab.texts[int(top.ids[0])] if top and s.vocab else None,
                     float(top.probs[0]) if top else None])
    return cols, rows


def _plane(s: Session):
    plane, _why = s.plane_path()
    if plane is None:
        return [], []
    cols = ["layer", "plane_x", "plane_y", "plane_kept", "plane_angle", "angle_to_first", "norm"]
    rows = [[i, float(x), float(y), float(k), float(a), float(t), float(n)]
            for i, (x, y, k, a, t, n) in enumerate(zip(plane.x, plane.y, plane.kept, plane.angle, plane.true_angle,
                                                       plane.norm))]
    return cols, rows


def _attribution(s: Session):
    at = s.attribution
    if at is None:
        return [], []
    cols = ["layer", "embed_dla", "attn_dla", "mlp_dla", "attn_norm", "mlp_norm"]
    rows = [[0, float(at.embed), None, None, None, None]]
    rows += [[i + 1, None, float(at.attn[i]), float(at.mlp[i]), float(at.attn_norm[i]), float(at.mlp_norm[i])]
             for i in range(len(at.attn))]
    if at.heads is not None:
        cols.append("head_dla")
        rows[0].append(None)
        for i in range(len(at.attn)):
            rows[i + 1].append(json.dumps([round(float(h), 6) for h in at.heads[i]]))
    return cols, rows


def _norms(s: Session):
    norms = s.all_norms()
    if norms is None:
        return [], []
    cols = ["layer", "position", "token", "norm"]
    rows = [[i, p, s.tokens[p].text if p < len(s.tokens) else "", float(norms[i, p])]
            for i in range(norms.shape[0]) for p in range(norms.shape[1])]
    return cols, rows


def _closest(s: Session):
    les, vocab = s.current_lesson(), s.vocab
    if les is None or vocab is None:
        return [], []
    c = les.closest
    cols = ["layer", "rank", "by_dot_id", "by_dot_text", "logit", "by_cos_id", "by_cos_text", "cos",
            "by_euclid_id", "by_euclid_text", "distance"]
    rows = [[s.layer, k + 1, int(c.by_dot[k]), vocab.texts[int(c.by_dot[k])], float(c.logits[k]),
             int(c.by_cos[k]), vocab.texts[int(c.by_cos[k])], float(c.cos[k]),
             int(c.by_euclid[k]), vocab.texts[int(c.by_euclid[k])], float(c.dist[k])]
            for k in range(len(c.by_dot))]
    return cols, rows


def _confidence(s: Session):
    from spherescope.core.lessons import ALPHAS, entropy_fraction

    les = s.current_lesson()
    if les is None:
        return [], []
    h = entropy_fraction(les.alpha_entropy, len(les.logits))
    return ["layer", "alpha", "top_prob", "entropy_fraction"], [
        [s.layer, float(a), float(p), float(e)] for a, p, e in zip(ALPHAS, les.alpha_top_prob, h)]


def _patching(s: Session):
    g = s.comparison.grid
    if g is None:
        return [], []
    cols = ["layer", "position", "token", "recovery"]
    rows = [[i, p, g.tokens[p].text, None if math.isnan(v) else float(v)]
            for i, row in enumerate(g.matrix) for p, v in enumerate(row)]
    return cols, rows


def _heads(s: Session):
    """The block's every head's attention from the followed position."""
    w, hv = s.heads.weights, s.heads.view
    if w is None or hv is None:
        return [], []
    return ["block", "head", "position", "token", "weight"], [
        [hv.layer, h, p, s.tokens[p].text, float(w[h, p])] for h in range(w.shape[0]) for p in range(w.shape[1])]


def _head_patching(s: Session):
    g = s.comparison.head_grid
    if g is None:
        return [], []
    return ["block", "head", "recovery"], [[b + 1, h, None if math.isnan(v) else float(v)]
                                           for b, row in enumerate(g.matrix) for h, v in enumerate(row)]


def _token_norms(s: Session):
    st, vocab = s.model_stats, s.vocab
    if st is None or vocab is None:
        return [], []
    lengths = st.embed_hist.lengths
    un = st.unembed_hist.lengths if st.unembed_hist is not None else None
    cols = ["id", "text", "embedding_norm"] + (["unembedding_norm"] if un is not None else [])
    rows = [[i, vocab.texts[i], float(lengths[i])] + ([float(un[i])] if un is not None else []) for i in range(len(lengths))]
    return cols, rows


def _compare(s: Session):
    d = s.comparison.diffs
    if d is None:
        return [], []
    first, second = d
    return ["layer", "first_diff", "second_diff"], [[i, float(a), float(b)] for i, (a, b) in enumerate(zip(first, second))]


def steer_rows(curve) -> tuple[list[str], list[list]]:
    """A dose-response curve with the API's SteerSweep columns."""
    return ["alpha", "next_text", "next_prob", "logit_diff"], [
        [float(a), t, float(p), float(d)] for a, (t, p), d in zip(curve.alphas, curve.predictions, curve.diffs)]


def _set_rows(s: Session):
    """One row per (prompt, layer), the columns of SetResult.to_pandas() (set_api)."""
    cols = ["prompt", "text", "layer", "norm", "lens_diff", "top"]
    rows = []
    texts = s.vocab.texts if s.vocab is not None else None
    for t in s.sets.traces:
        norms = t.norms
        for layer, top in enumerate(t.lens):
            rows.append([t.index, t.prompt, layer, float(norms[layer]),
                         None if t.lens_diff is None else float(t.lens_diff[layer]),
                         texts[int(top.ids[0])] if texts is not None and len(top.ids) else None])
    return cols, rows


def _set_patching(s: Session):
    g = s.sets.patch
    if g is None:
        return [], []
    m = g.matrix
    cols = ["layer", "position_from_end", "recovery"]
    return cols, [[i, j - m.shape[1], float(m[i, j])] for i in range(m.shape[0]) for j in range(m.shape[1])]


def _set_head_patching(s: Session):
    g = s.sets.patch
    if g is None or g.heads_matrix is None:
        return [], []
    return ["block", "head", "recovery"], [[b + 1, h, float(v)] for b, row in enumerate(g.heads_matrix)
                                           for h, v in enumerate(row)]


def _set_steering(s: Session):
    """One row per α, the columns of set_api.SetSteerSweep.to_pandas()."""
    c = s.sets.steer
    if c is None:
        return [], []
    cols = ["alphas", "diff_mean", "diff_q25", "diff_q75", "accuracy"]
    return cols, [[float(a), float(m), float(lo), float(hi), float(acc)]
                  for a, m, lo, hi, acc in zip(c.alphas, c.mean, *c.quartiles, c.accuracy)]


_TABLES = {"sphere": _path_rows, "plane": _plane, "attribution": _attribution, "norms": _norms, "closest": _closest,
           "confidence": _confidence, "patching": _patching, "token-norms": _token_norms, "compare": _compare,
           "heads": _heads, "head-patching": _head_patching, "set": _set_rows, "set-patching": _set_patching,
           "set-head-patching": _set_head_patching, "set-steering": _set_steering}
VIEWS_WITH_DATA = (*_TABLES, "steer")


def table_text(cols: list[str], rows: list[list], fmt: str) -> str:
    """CSV (pandas.read_csv reads it back) or JSON (a list of records)."""
    if fmt == "json":
        return json.dumps([dict(zip(cols, r)) for r in rows], ensure_ascii=False, indent=1, allow_nan=False)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    w.writerows(["" if v is None else v for v in r] for r in rows)
    return buf.getvalue()
