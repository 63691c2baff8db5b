"""`spherescope patch`, `trace --steer-*` and `render --compare / --view patching`."""

import json

import numpy as np
import pytest

from spherescope.cli import main
from tests.cli.test_cli import ARTICLE, _one_line_error, run

CORRUPT = "John and Mary went to the bar. Mary bought a drink for"


@pytest.mark.real_model
def test_patch_json_shows_the_name_moving_to_the_last_position(tmp_path):
    out = tmp_path / "grid.json"
    r = run("patch", "--clean", ARTICLE, "--corrupt", CORRUPT, "--target", " Mary", "--contrast", " John",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "31 layers x 13 positions" in r.stdout
    data = json.loads(out.read_text())
    assert data["clean"] == ARTICLE and data["corrupt"] == CORRUPT
    assert data["tokens"][8] == {"id": 5099, "text": " Mary"} and data["clean_tokens"][8]["text"] == " John"
    assert data["target"] == {"id": 5099, "text": " Mary"} and data["contrast"] == {"id": 2322, "text": " John"}
    assert data["clean_diff"] > 1 and data["corrupt_diff"] < -1
    m = np.array(data["matrix"])
    assert m.shape == (31, 13)
    assert np.all(m[0, [p for p in range(13) if p != 8]] == 0.0)
    assert m[0, 8] == pytest.approx(1.0, abs=1e-3) and m[30, 12] == pytest.approx(1.0, abs=1e-3)
    # The information sits at the name early and at the last position late: it moves across layers 21-25.
    assert np.all(m[:20, 8] > 0.9) and np.all(m[:20, 12] < 0.1)
    assert np.all(m[26:, 12] > 0.9) and np.all(np.abs(m[26:, 8]) < 0.3)
    crossing = [layer for layer in range(31) if m[layer, 12] > m[layer, 8]][0]
    assert 20 <= crossing <= 26, crossing


def test_patch_table_on_a_tiny_model(tiny_dir):
    r = run("patch", "--model", str(tiny_dir), "--clean", ARTICLE, "--corrupt", CORRUPT, "--target", " Mary",
            "--contrast", " John")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("layer"))
    assert "␣Mary" in lines[head] and "␣bought" in lines[head]
    rows = lines[head + 1:]
    assert len(rows) == 4  # the tiny model's embeddings and 3 blocks
    assert rows[-1].split()[-1] == "+1.00"


@pytest.mark.parametrize("args, pattern", [
    (["--corrupt", "Mary bought a drink for"], "equal length"),
    (["--corrupt", CORRUPT, "--contrast", " Mary"], "same token as --target"),
    (["--corrupt", "  "], "--corrupt is empty"),
    (["--corrupt", CORRUPT, "--target", " Zqxjw"], "tokens, not one"),
    (["--corrupt", CORRUPT, "--out", "/no/such/dir/g.json"], "does not exist"),
    (["--corrupt", ARTICLE], "nothing to recover"),
])
def test_patch_bad_input_one_line(tiny_dir, args, pattern, capsys):
    given = dict(zip(args[::2], args[1::2]))
    flags = {"--clean": ARTICLE, "--target": " Mary", "--contrast": " John", **given}
    _in_process_error(capsys, ["patch", "--model", str(tiny_dir), *[x for kv in flags.items() for x in kv]], pattern)


def _in_process_error(capsys, argv, pattern):
    """The command's own entry point in this process (a subprocess per case costs seconds
    of imports; the subprocess path is tested above)."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and pattern in err, err


@pytest.mark.real_model
def test_trace_steered_toward_john_flips_the_prediction(tmp_path):
    out = tmp_path / "steered.json"
    r = run("trace", "--prompt", ARTICLE, "--steer-layer", "15", "--steer-toward", " John", "--steer-away", " Mary",
            "--steer-alpha", "50", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    st = data["steer"]
    assert st["layer"] == 15 and st["alpha"] == 50 and st["position"] is None
    assert st["toward"] == {"id": 2322, "text": " John"} and st["away"] == {"id": 5099, "text": " Mary"}
    # Unsteered the model says ' Mary' (34%); steered, ' Mary' is no longer the prediction
    # and ' John' ranks above it at the last layer.
    assert data["next_token"]["text"] != " Mary"
    last = [t["text"] for t in data["layers"][-1]["top"]]
    assert " John" in last and (" Mary" not in last or last.index(" John") < last.index(" Mary"))
    # Layers before the steered one are the plain run's (the table prints the same norms).
    plain = run("trace", "--prompt", ARTICLE, "--out", str(tmp_path / "plain.json"))
    assert plain.returncode == 0
    p = json.loads((tmp_path / "plain.json").read_text())
    assert p["next_token"]["text"] == " Mary"
    assert [row["norm"] for row in p["layers"][:15]] == [row["norm"] for row in data["layers"][:15]]
    assert p["layers"][15]["norm"] != data["layers"][15]["norm"], "layer 15 is the residual after block 15"


@pytest.mark.parametrize("args, pattern", [
    (["--steer-layer", "1", "--steer-toward", " Mary", "--steer-alpha", "nan"], "finite"),
    (["--steer-layer", "1", "--steer-toward", " Mary", "--steer-alpha", "inf"], "finite"),
    (["--steer-layer", "9", "--steer-toward", " Mary", "--steer-alpha", "3"], "out of range"),
    (["--steer-layer", "1", "--steer-alpha", "3"], "needs --steer-toward"),
    (["--steer-toward", " Mary", "--steer-alpha", "3"], "needs --steer-layer"),
    (["--steer-layer", "1", "--steer-toward", " Mary", "--steer-away", " Mary", "--steer-alpha", "3"], "same token"),
    (["--steer-layer", "1", "--steer-toward", " Mary", "--steer-alpha", "3", "--steer-position", "40"], "out of range"),
    (["--steer-layer", "1", "--steer-toward", " Zqxjw", "--steer-alpha", "3"], "tokens, not one"),
    (["--steer-layer", "1", "--steer-toward", " Mary", "--steer-alpha", "3", "--backend", "nnsight"], "direct backend"),
])
def test_steer_bad_input_one_line(tiny_dir, args, pattern, capsys):
    _in_process_error(capsys, ["trace", "--model", str(tiny_dir), "--prompt", ARTICLE, *args], pattern)


@pytest.mark.real_model
def test_render_the_patching_heatmap_and_the_two_prompt_sphere(tmp_path):
    from PIL import Image

    heat = tmp_path / "heat.png"
    r = run("render", "--view", "patching", "--prompt", ARTICLE, "--compare", CORRUPT, "--tokens", " Mary, John",
            "--size", "960x540", "--style", "paper", "--out", str(heat))
    assert r.returncode == 0, r.stderr
    with Image.open(heat) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    red = (np.abs(px - [192, 0, 0]).sum(axis=2) < 90).sum()  # CET-D1's top: full recovery
    assert red > 2000, red
    sphere = tmp_path / "two.png"
    r = run("render", "--prompt", ARTICLE, "--compare", CORRUPT, "--size", "960x540", "--style", "slide",
            "--out", str(sphere))
    assert r.returncode == 0, r.stderr
    with Image.open(sphere) as im:
        px = np.asarray(im.convert("RGB")).astype(int)
    green = (np.abs(px - [33, 145, 140]).sum(axis=2) < 60).sum()  # viridis: the second path and its key
    assert green > 150, green
    _one_line_error(run("render", "--view", "patching", "--prompt", ARTICLE, "--out", str(tmp_path / "x.png")),
                    "needs a second prompt")
