"""The researchers' Python API (issue 28): one load for many analyses, numbers equal to
the command line's JSON, tables, 2-D figures with no display, and the docs notebook."""

import json
from pathlib import Path

import numpy as np
import pytest

ARTICLE = "John and Mary went to the bar. John bought a drink for"
COUNTER = "John and Mary went to the bar. Mary bought a drink for"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def m():
    import spherescope

    return spherescope.load()


def _cli_json(tmp_path, *argv):
    from spherescope.cli import main

    out = tmp_path / "cli.json"
    assert main([*argv, "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_trace_numbers_equal_the_command_lines_json(m, tmp_path):
    t = m.trace(ARTICLE, tokens=" Mary, John", attribute=" Mary", contrast=" John")
    cli = _cli_json(tmp_path, "trace", "--prompt", ARTICLE, "--tokens", " Mary, John", "--attribute", " Mary",
                    "--contrast", " John")
    assert t.to_json() == cli
    assert t.norms.shape == (31,) and t.attn_dla.shape == (30,) and t.head_dla.shape == (30, 9)
    assert t.next_token == " Mary"
    np.testing.assert_allclose(t.plane_x, [row["plane"]["x"] for row in cli["layers"]])
    df = t.to_pandas()
    assert len(df) == 31 and df["attn_dla"].iloc[24] == pytest.approx(t.attn_dla[23])
    ids, probs = t.lens_top(3)
    assert ids.shape == (31, 3) and probs[-1, 0] == pytest.approx(cli["layers"][-1]["top"][0]["prob"])


def test_steered_trace_and_patch_equal_the_command_line(m, tmp_path):
    t = m.trace(ARTICLE, steer=dict(layer=12, toward=" John", alpha=8.0), attribute=" Mary", contrast=" John")
    cli = _cli_json(tmp_path, "trace", "--prompt", ARTICLE, "--steer-layer", "12", "--steer-toward", " John",
                    "--steer-alpha", "8", "--attribute", " Mary", "--contrast", " John")
    assert t.to_json() == cli
    g = m.patch(ARTICLE, COUNTER, " Mary", " John")
    cli = _cli_json(tmp_path, "patch", "--clean", ARTICLE, "--corrupt", COUNTER, "--target", " Mary", "--contrast", " John")
    assert g.to_json() == cli
    pairs = m.patch_set([{"prompt": ARTICLE, "corrupt": COUNTER}], target=" Mary", contrast=" John")
    assert pairs.n == 1 and pairs.clean_diff_mean == pytest.approx(g.clean_diff, abs=1e-4)
    np.testing.assert_allclose(pairs.matrix, g.matrix, atol=1e-4)
    assert g.matrix.shape == (31, 13)
    tidy = g.to_pandas()
    assert len(tidy) == 31 * 13 and set(tidy.columns) == {"layer", "position", "token", "recovery"}


def test_heads_equal_the_command_line(m, tmp_path):
    t = m.trace(ARTICLE, attention=True, head="24.3", attribute=" Mary", contrast=" John")
    cli = _cli_json(tmp_path, "trace", "--prompt", ARTICLE, "--attention", "--head", "24.3", "--attribute", " Mary",
                    "--contrast", " John")
    assert t.to_json() == cli
    assert t.attention.shape == (30, 9, 13) and np.allclose(t.attention.sum(axis=-1), 1.0, atol=1e-4)
    assert t.head["reads"][0]["token"]["text"] == " John" and t.head["lowers"][0]["text"] == " John"
    assert t.head["attribution"] == pytest.approx(t.head_dla[23, 3])


def test_a_set_from_a_list_a_dataframe_or_a_file_equals_the_command_line(m, tmp_path):
    import pandas as pd

    rows = [{"prompt": ARTICLE, "target": " Mary", "contrast": " John"},
            {"prompt": "The capital of France is", "target": " Paris", "contrast": " London"}]
    s = m.trace_set(rows)
    path = tmp_path / "set.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    cli = _cli_json(tmp_path, "trace", "--prompts", str(path), "--top-k", "5")
    assert s.to_json()["set"] == cli["set"]
    assert [p["layers"] for p in s.to_json()["prompts"]] == [p["layers"] for p in cli["prompts"]]
    frame = m.trace_set(pd.DataFrame(rows))
    assert frame.to_json()["set"] == s.to_json()["set"]
    assert s.n == 2 and s.accuracy == 1.0 and s.lens_diff.shape == (2, 31) and s.paths.shape == (2, 31, 576)
    assert s.attn_dla.shape == (2, 30) and s.head_dla.shape == (2, 30, 9)
    np.testing.assert_allclose(s.norms[0], [row["norm"] for row in s.to_json()["prompts"][0]["layers"]], rtol=1e-6)
    assert len(s.to_pandas()) == 62 and "SetResult(2 prompts, accuracy 100%" in repr(s)
    sweep = m.steer_set(rows, 15, " John", [0.0, 60.0], away=" Mary")
    assert sweep.diffs.shape == (2, 2) and sweep.accuracy[0] == 1.0
    np.testing.assert_allclose(sweep.diffs[0], [p["final_diff"] for p in s.to_json()["prompts"]], atol=1e-4)
    assert len(sweep.to_pandas()) == 2 and sweep.to_json()["n"] == 2
    # toward=None: each prompt toward its own contrast, away from its own target; the
    # first row's own direction is the sweep's above (toward John, away from Mary).
    own = m.steer_set(rows, 15, None, [0.0, 60.0])
    np.testing.assert_allclose(own.diffs[:, 0], sweep.diffs[:, 0], atol=1e-4)
    assert own.diffs[1, 1] < own.diffs[0, 1] - 1, "toward London pulls Paris − London down"
    plain = m.trace_set(["The cat sat on the", "Hello"], target=" mat")
    assert plain.n == 2 and plain.final_diff.shape == (2,)


def test_bad_input_is_one_sentence(m):
    from spherescope.models.errors import PromptError

    with pytest.raises(PromptError, match="is 4 tokens"):
        m.trace(ARTICLE, attribute="2024")
    with pytest.raises(ValueError, match="needs layer, toward and alpha"):
        m.trace(ARTICLE, steer={"layer": 3})
    with pytest.raises(PromptError, match="empty"):
        m.patch("", COUNTER, " Mary", " John")


def test_steer_sweep_is_the_dose_response(m):
    sw = m.steer_sweep(ARTICLE, 12, " John", [0, 16], target=" Mary", contrast=" John")
    t0 = m.trace(ARTICLE, attribute=" Mary", contrast=" John")
    assert sw.diffs[0] == pytest.approx(t0.data["attribution"]["logit_diff"], abs=1e-4)
    assert sw.diffs[1] < sw.diffs[0], "steering toward ' John' lowers logit(' Mary') - logit(' John')"
    assert list(sw.to_pandas().columns) == ["alpha", "next_id", "next_text", "next_prob", "logit_diff"]


def test_the_docs_notebook_runs_with_no_display(monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    nb = nbformat.read(ROOT / "docs" / "api.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, "the 2-D figures are images"
    last = nb.cells[-1].outputs
    text = "".join(o.get("text", "") for o in last) + "".join(str(o.get("data", {})) for o in last)
    assert "image/png" in text or "start_virtual_display" in text
    streams = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.get("name") == "stderr")
    assert "Warning" not in streams, streams
