"""`trace --prompts` and `patch --pairs`: the public contract, and the set's figures equal
to the mean of single runs (prompts of different lengths, so padding is exercised)."""

import csv
import json

import numpy as np
import pytest

from spherescope.cli import main
from tests.cli.test_cli import ARTICLE, _one_line_error, run

SET = [
    {"prompt": "When Mary and John went to the store, John gave a drink to", "target": " Mary", "contrast": " John"},
    {"prompt": "The capital of France is", "target": " Paris", "contrast": " London"},
    {"prompt": ARTICLE, "target": " Mary", "contrast": " John"},
    {"prompt": "When Tom and Anna went to the park, Anna gave a ball to", "target": " Tom", "contrast": " Anna"},
    {"prompt": "The cat sat on the", "target": " mat", "contrast": " dog"},
]
PAIR = {"prompt": ARTICLE, "corrupt": "John and Mary went to the bar. Mary bought a drink for", "target": " Mary",
        "contrast": " John"}


def _csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return str(path)


@pytest.mark.real_model
def test_the_sets_figures_are_the_mean_of_single_traces(tmp_path, real_model, capsys):
    from spherescope.commands.trace import trace_data
    from spherescope.models.trace import lens_logit_diff

    out = tmp_path / "set.json"
    assert main(["trace", "--prompts", _csv(tmp_path / "s.csv", SET), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = json.loads(out.read_text(encoding="utf-8"))
    s, prompts = data["set"], data["prompts"]
    assert s["n"] == len(SET) == len(prompts)
    singles = [trace_data(real_model, r["prompt"], attribute=r["target"], contrast=r["contrast"]) for r in SET]
    diffs = np.array([d["attribution"]["logit_diff"] for d, _t in singles])
    assert s["final_diff_mean"] == pytest.approx(diffs.mean(), abs=1e-4)
    assert s["accuracy"] == pytest.approx(np.mean(diffs > 0))
    lens = np.stack([lens_logit_diff(real_model, t.path(), d["attribution"]["target"]["id"],
                                     d["attribution"]["contrast"]["id"]) for d, t in singles])
    norms = np.stack([[row["norm"] for row in d["layers"]] for d, _t in singles])
    q25, q75 = np.percentile(lens, [25, 75], axis=0)
    for layer, row in enumerate(s["layers"]):
        assert row["layer"] == layer
        assert row["lens_diff_mean"] == pytest.approx(lens[:, layer].mean(), abs=1e-4)
        assert row["lens_diff_q25"] == pytest.approx(q25[layer], abs=1e-4)
        assert row["lens_diff_q75"] == pytest.approx(q75[layer], abs=1e-4)
        assert row["norm_mean"] == pytest.approx(norms[:, layer].mean(), rel=1e-5)
    att = s["attribution"]
    assert att["embed"] == pytest.approx(np.mean([d["attribution"]["embed"] for d, _t in singles]), abs=1e-4)
    for i, row in enumerate(att["layers"]):
        for part in ("attn", "mlp"):
            single = np.mean([d["attribution"]["layers"][i][part]["dla"] for d, _t in singles])
            assert row[part] == pytest.approx(single, abs=1e-4)
            lo, hi = row[f"{part}_interval"]
            assert lo <= row[part] <= hi
        assert len(row["heads"]) == 9
    for p, (d, _t), r in zip(prompts, singles, SET):
        assert p["prompt"] == r["prompt"] and p["tokens"] == d["tokens"] and p["position"] == d["position"]
        assert [t["id"] for t in p["layers"][-1]["top"]] == [t["id"] for t in d["layers"][-1]["top"][:10]]
        assert p["attribution"]["logit_diff"] == pytest.approx(d["attribution"]["logit_diff"], abs=1e-4)
    # Each prompt in its own plane of target and contrast: the article's figure, as `trace --tokens` gives it.
    import math

    plane, _t = trace_data(real_model, ARTICLE, tokens=" Mary, John")
    for mine, theirs in zip(prompts[2]["layers"], plane["layers"]):
        pl = theirs["plane"]
        assert mine["plane"]["angle"] == pytest.approx(math.degrees(math.atan2(pl["y"], pl["x"])), abs=1e-3)
        assert mine["plane"]["kept"] == pytest.approx(pl["kept"], abs=1e-5)
    from spherescope.commands.trace import plane_directions
    from spherescope.core.plane import plane_path

    _ids, first, second = plane_directions(real_model, " Mary, John")
    assert prompts[2]["plane_apart"] == pytest.approx(plane_path(_t.path(), first, second).second_angle, abs=1e-6)
    angles = np.array([[row["plane"]["angle"] for row in p["layers"]] for p in prompts])
    kept = np.array([[row["plane"]["kept"] for row in p["layers"]] for p in prompts])
    assert s["layers"][-1]["plane_angle_median"] == pytest.approx(np.median(angles[:, -1]), abs=1e-9)
    assert s["layers"][-1]["plane_kept_q75"] == pytest.approx(np.percentile(kept[:, -1], 75), abs=1e-9)
    assert s["plane_apart_median"] == pytest.approx(np.median([p["plane_apart"] for p in prompts]), abs=1e-9)
    # block 24's attention carries the name over the set, as it does on the article's prompt
    assert max(range(30), key=lambda i: att["layers"][i]["attn"]) == 23


@pytest.mark.real_model
def test_one_pair_is_the_single_patch_grid(tmp_path, real_model, capsys):
    from spherescope.commands.patch import patch_data

    out = tmp_path / "pairs.json"
    assert main(["patch", "--pairs", _csv(tmp_path / "p.csv", [PAIR]), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"n", "clean_diff_mean", "corrupt_diff_mean", "matrix"} <= set(data)
    single = patch_data(real_model, PAIR["prompt"], PAIR["corrupt"], PAIR["target"], PAIR["contrast"])
    assert data["n"] == 1
    assert data["clean_diff_mean"] == pytest.approx(single["clean_diff"], abs=1e-4)
    assert data["corrupt_diff_mean"] == pytest.approx(single["corrupt_diff"], abs=1e-4)
    np.testing.assert_allclose(data["matrix"], single["matrix"], atol=1e-4)
    assert [t["text"] for t in data["tokens"]] == [t["text"] for t in single["tokens"]]


def test_pairs_with_heads_on_a_tiny_model(tmp_path, tiny_dir):
    rows = [PAIR, dict(PAIR, prompt="Mary and John went to the bar. Mary bought a drink for",
                       corrupt="Mary and John went to the bar. John bought a drink for", target=" John",
                       contrast=" Mary")]
    out = tmp_path / "pairs.json"
    r = run("patch", "--model", str(tiny_dir), "--pairs", _csv(tmp_path / "p.csv", rows), "--heads", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["n"] == 2 and np.array(data["matrix"]).shape[0] == 4
    assert np.array(data["heads_matrix"]).shape == (3, 4)
    table = run("patch", "--model", str(tiny_dir), "--pairs", _csv(tmp_path / "p.csv", rows))
    assert table.returncode == 0 and "2 pairs; positions counted from the end" in table.stdout


def test_trace_prompts_prints_a_table_on_a_tiny_model(tmp_path, tiny_dir):
    rows = [{"prompt": ARTICLE}, {"prompt": "The cat went up"}]
    r = run("trace", "--model", str(tiny_dir), "--prompts", _csv(tmp_path / "s.csv", rows), "--attribute", " Mary",
            "--contrast", " John")
    assert r.returncode == 0, r.stderr
    assert "s.csv: 2 prompts" in r.stdout and "accuracy" in r.stdout and "direct logit attribution" in r.stdout


@pytest.mark.parametrize("rows, args, pattern", [
    ([{"text": "a"}], [], "no 'prompt' column"),
    ([{"prompt": ARTICLE, "target": " Mary bought"}], [], "is 2 tokens, not one"),
    ([{"prompt": ARTICLE, "target": " Mary"}, {"prompt": "", "target": ""}], [], None),
    ([{"prompt": ARTICLE, "target": " Mary"}, {"prompt": "", "target": " John"}], [], "no prompt in row 3"),
    ([{"prompt": " ".join(["the cat"] * 80)}], [], "longer than"),
    ([{"prompt": ARTICLE}], ["--attention"], "--attention works on one --prompt, not on a --prompts set"),
])
def test_bad_sets_get_one_line(tmp_path, tiny_dir, rows, args, pattern):
    r = run("trace", "--model", str(tiny_dir), "--prompts", _csv(tmp_path / "s.csv", rows), *args)
    if pattern is None:  # a row empty in every field is skipped, not refused
        assert r.returncode == 0, r.stderr
        assert "1 prompt\n" in r.stdout
        return
    _one_line_error(r, pattern)


def test_unequal_pairs_and_missing_files_get_one_line(tmp_path, tiny_dir):
    bad = [dict(PAIR, corrupt="John and Mary went to the bar")]
    _one_line_error(run("patch", "--model", str(tiny_dir), "--pairs", _csv(tmp_path / "p.csv", bad)),
                    "must have the same number of tokens")
    _one_line_error(run("patch", "--model", str(tiny_dir), "--pairs", str(tmp_path / "none.csv")),
                    "There is no prompt set at")
    _one_line_error(run("patch", "--model", str(tiny_dir), "--pairs", _csv(tmp_path / "p.csv", [PAIR]), "--clean", "x"),
                    "leave out --clean and --corrupt")
    _one_line_error(run("patch", "--model", str(tiny_dir), "--clean", "x"), "patch needs --corrupt")
