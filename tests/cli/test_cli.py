import json

import numpy as np
import os
import subprocess
import sys

import pytest

from spherescope import __version__

ARTICLE = "John and Mary went to the bar. John bought a drink for"


def run(*args, timeout=300):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "spherescope", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"spherescope {__version__}"


def test_trace_table_on_tiny_model(tiny_dir):
    r = run("trace", "--model", str(tiny_dir), "--prompt", "John and Mary")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("model:") and "layer" in lines[3]
    assert sum(1 for line in lines if line.strip()[:1].isdigit()) == 4  # layers 0..3
    assert r.stderr == ""


def _one_line_error(r, pattern):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert pattern in r.stderr, r.stderr


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--prompt", ""], "empty"),
        (["--model", "/no/such/dir", "--prompt", "x"], "not found"),
        (["--prompt", "x", "--position", "99"], "out of range"),
        (["--prompt", "the cat " * 100], "refused"),
        (["--prompt", "x", "--out", "/no/such/dir/x.json"], "does not exist"),
        (["--prompt", "x", "--out", "/proc/x.json"], "Cannot write"),
        (["--prompt", "x", "--top-k", "0"], "top-k"),
        (["--prompt", "x", "--bogus"], "unrecognized"),
    ],
)
def test_bad_input_one_line_errors(tiny_dir, args, pattern):
    if "--model" not in args:
        args = ["--model", str(tiny_dir), *args]
    _one_line_error(run("trace", *args), pattern)


def test_non_causal_model_is_one_line_error(tmp_path):
    from transformers import BertConfig, BertForMaskedLM

    BertForMaskedLM(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32)).save_pretrained(tmp_path / "bert")
    _one_line_error(run("trace", "--model", str(tmp_path / "bert"), "--prompt", "x"), "not a left-to-right")


def test_failed_out_write_leaves_no_partial_file(tiny_dir, tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous")
    r = run("trace", "--model", str(tiny_dir), "--prompt", "John", "--position", "5", "--out", str(target))
    assert r.returncode != 0
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.real_model
def test_article_json_with_real_model(tmp_path):
    out = tmp_path / "trace.json"
    r = run("trace", "--prompt", ARTICLE, "--top-k", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert set(data) == {"model", "num_layers", "hidden_size", "vocab_size", "tied_embeddings", "tokens",
                         "position", "layers", "next_token"}
    assert data["num_layers"] == 30 and len(data["layers"]) == 31
    assert data["next_token"]["text"] == " Mary"
    assert data["layers"][-1]["top"][0]["text"] == " Mary"
    assert all(len(layer["top"]) == 3 for layer in data["layers"])
    norms = [layer["norm"] for layer in data["layers"]]
    assert norms[-1] > norms[15] > norms[0]
    assert data["tokens"][2] == {"id": 5099, "text": " Mary"}


@pytest.mark.real_model
def test_article_plane_in_the_json(tmp_path):
    """The article's figure as numbers: each layer's coordinates in the plane of ' Mary'
    and ' John'. The state sits about 30° from ' Mary' for most of the model, then turns
    onto it."""
    import math

    out = tmp_path / "plane.json"
    r = run("trace", "--prompt", ARTICLE, "--tokens", " Mary, John", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["plane_tokens"] == [{"id": 5099, "text": " Mary"}, {"id": 2322, "text": " John"}]
    angles, kept = [], []
    for row in data["layers"]:
        p = row["plane"]
        assert set(p) == {"x", "y", "kept", "cos"}
        assert p["kept"] == pytest.approx(math.hypot(p["x"], p["y"]) / row["norm"], rel=1e-4)
        angles.append(math.degrees(math.atan2(p["y"], p["x"])))
        kept.append(p["kept"])
    assert all(25 < a < 40 for a in angles[1:24]), angles  # wandering, away from ' Mary'
    assert angles[-1] < 5 and angles[-1] < min(angles[:24]) - 20, "the final turn onto ' Mary'"
    assert max(kept) < 0.4, "the plane keeps only part of the vector's length, and says so"
    # The same plane printed as a table.
    r = run("trace", "--prompt", ARTICLE, "--tokens", " Mary, John")
    assert "in the plane of ' Mary' (x) and ' John'" in r.stdout and r.stdout.strip().endswith("%")


@pytest.mark.parametrize("tokens, pattern", [
    (" Mary", "exactly 2 tokens"),
    (" Mary, Mary", "given twice"),
    (" Mary, Zqxjw", "tokens, not one"),
    ("", "No --tokens given"),
])
def test_plane_tokens_bad_input_one_line(tiny_dir, tokens, pattern):
    _one_line_error(run("trace", "--model", str(tiny_dir), "--prompt", "John and Mary", "--tokens", tokens), pattern)


@pytest.mark.real_model
def test_render_the_plane_view(tmp_path):
    out = tmp_path / "plane.png"
    r = run("render", "--view", "plane", "--prompt", ARTICLE, "--tokens", " Mary, John", "--size", "960x540",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "plane of ' Mary' and ' John', layer 30" in r.stdout
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (960, 540)
        px = np.asarray(im.convert("RGB")).astype(int)
    # Both token arrows are drawn in their colours: orange ' Mary', blue ' John'.
    orange = (np.abs(px - [255, 179, 71]).sum(axis=2) < 60).sum()
    blue = (np.abs(px - [110, 170, 255]).sum(axis=2) < 60).sum()
    assert orange > 200 and blue > 200, (orange, blue)
    _one_line_error(run("render", "--view", "plane", "--prompt", ARTICLE, "--out", str(tmp_path / "x.png")),
                    "--view plane needs two tokens")
    _one_line_error(run("render", "--view", "plane", "--prompt", ARTICLE, "--tokens", " Mary", "--out",
                        str(tmp_path / "x.png")), "exactly 2 tokens")


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--prompt", "x", "--out", "a.txt"], "--out must end"),
        (["--prompt", "x", "--size", "big", "--out", "a.png"], "--size must look like"),
        (["--prompt", "x", "--size", "1921x1080", "--out", "a.mp4"], "even width"),
        (["--out", "a.png"], "prompt is empty"),
        (["--prompt", "x", "--out", "/no/such/dir/a.png"], "does not exist"),
        (["--prompt", "x", "--scene", "/no/such.spherescope", "--out", "a.png"], "Cannot read"),
        (["--prompt", "x", "--layer", "many", "--out", "a.png"], "--layer must be"),
    ],
)
def test_render_bad_arguments_one_line(tmp_path, args, pattern):
    args = [a if not a.startswith("a.") else str(tmp_path / a) for a in args]
    _one_line_error(run("render", *args), pattern)


@pytest.mark.real_model
def test_render_png_headless(tmp_path):
    out = tmp_path / "fig.png"
    r = run("render", "--prompt", ARTICLE, "--tokens", " Mary, John", "--size", "640x360", "--style", "slide",
            "--transparent", "--out", str(out))
    assert r.returncode == 0, r.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (640, 360) and im.mode == "RGBA"
        px = np.asarray(im)
    assert px[0, 0, 3] == 0 and px[..., 3].max() == 255


def test_trace_through_nnsight_matches_direct(tiny_dir, tmp_path):
    pytest.importorskip("nnsight")
    direct, via = tmp_path / "d.json", tmp_path / "n.json"
    assert run("trace", "--model", str(tiny_dir), "--prompt", "John and Mary", "--out", str(direct)).returncode == 0
    r = run("trace", "--backend", "nnsight", "--model", str(tiny_dir), "--prompt", "John and Mary", "--out", str(via))
    assert r.returncode == 0, r.stderr
    a, b = json.loads(direct.read_text()), json.loads(via.read_text())
    assert b["backend"] == "nnsight" and b["remote"] is False
    for la, lb in zip(a["layers"], b["layers"]):
        assert abs(la["norm"] - lb["norm"]) < 1e-3
        assert [t["id"] for t in la["top"]] == [t["id"] for t in lb["top"]]


@pytest.mark.parametrize(
    "args, env, pattern",
    [
        (["--remote"], {}, "needs --backend nnsight"),
        (["--backend", "nnsight", "--remote"], {}, "hub id"),
        (["--backend", "nnsight", "--remote", "--model", "meta-llama/Llama-3.1-70B"], {"NDIF_API_KEY": ""}, "NDIF_API_KEY"),
        (["--backend", "nnsight", "--remote", "--model", "meta-llama/Llama-3.1-70B"], {"NDIF_API_KEY": "sekrit-key-42"}, "from the hub"),
    ],
)
def test_remote_errors_are_one_line(args, env, pattern, monkeypatch):
    pytest.importorskip("nnsight")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    r = run("trace", "--prompt", "x", *args)
    _one_line_error(r, pattern)
    assert "sekrit" not in r.stderr + r.stdout  # the key is never echoed


def _scene(path, **fields):
    from spherescope.state.scene import Scene, save_scene

    save_scene(path, Scene(**fields))
    return str(path)


@pytest.mark.real_model
def test_snapshot_opens_the_window_renders_and_exits(tmp_path):
    """The frozen build's smoke check, on the installed app: a real window opens a
    scene, runs it, saves one frame and exits 0."""
    from PIL import Image

    scene = _scene(tmp_path / "s.spherescope", prompt="John and Mary went to the bar. John bought a drink for", layer=12)
    out = tmp_path / "frame.png"
    env_home = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    r = subprocess.run([sys.executable, "-m", "spherescope", "--snapshot", str(out), scene], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1", **env_home))
    assert r.returncode == 0, r.stderr
    assert "layer 12" in r.stdout
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (720, 1280, 3)
    assert len(np.unique(img.reshape(-1, 3)[::37], axis=0)) > 50  # a picture, not a blank frame


def test_snapshot_of_a_scene_with_a_missing_model_fails_in_one_line(tmp_path):
    scene = _scene(tmp_path / "s.spherescope", model="/no/such/model", prompt="x")
    r = subprocess.run([sys.executable, "-m", "spherescope", "--snapshot", str(tmp_path / "f.png"), scene],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, HF_HUB_OFFLINE="1", XDG_CONFIG_HOME=str(tmp_path / "cfg")))
    assert r.returncode == 1
    assert "not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize(
    "args, code, pattern",
    [
        (["--snapshot", "f.png"], 2, "needs a scene file or --prompt"),
        (["--snapshot", "/proc/x.png", "--prompt", "hi"], 1, "Cannot write"),
    ],
)
def test_snapshot_bad_arguments_fail_before_any_window(args, code, pattern, tmp_path):
    r = subprocess.run([sys.executable, "-m", "spherescope", *args], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env=dict(os.environ, HF_HUB_OFFLINE="1", XDG_CONFIG_HOME=str(tmp_path / "cfg")))
    assert r.returncode == code, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and pattern in r.stderr  # no Qt abort after it


@pytest.mark.real_model
def test_render_uses_everything_the_scene_saved(tmp_path):
    from spherescope.state.scene import Scene, save_scene

    scene = tmp_path / "talk.spherescope"
    save_scene(scene, Scene(prompt=ARTICLE, layer=12, basis="token-plane", plane_tokens=[5099, 2322], style="paper",
                            alpha=2.0, annotations=["layer"],
                            camera={"distance": 3.0, "elevation": 90.0, "azimuth": -90.0, "fov": 40.0, "center": [0, 0, 0]}))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    r = run("render", "--scene", str(scene), "--size", "480x270", "--out", str(a))
    assert r.returncode == 0, r.stderr
    assert "layer 12" in r.stdout, "the scene's layer, not the last one"
    r = run("render", "--scene", str(scene), "--size", "480x270", "--layer", "5", "--style", "dark", "--out", str(b))
    assert r.returncode == 0 and "layer 5" in r.stdout, "options override the scene"
    from PIL import Image

    pa, pb = (np.asarray(Image.open(p).convert("RGB")).astype(int) for p in (a, b))
    assert pa[3, 3].mean() > 240 and pb[3, 3].mean() < 60, "the scene's paper style; --style overrides it"
    # Its annotation (the layer counter, top right) is drawn; the title (top left) is not.
    plain = tmp_path / "plain.png"
    run("render", "--scene", str(scene), "--size", "480x270", "--annotate", "none", "--out", str(plain))
    pn = np.asarray(Image.open(plain).convert("RGB")).astype(int)
    assert (np.abs(pa[:30, 380:] - pn[:30, 380:]).sum(axis=2) > 60).mean() > 0.01


def test_render_view_and_size_errors_leave_no_file(tmp_path):
    for args, pattern in ((["--view", "galaxy"], "invalid choice"), (["--size", "0x100"], "between 16 and 16384"),
                          (["--size", "17000x100"], "between 16 and 16384"), (["--view", "plane"], "needs two tokens"),
                          (["--annotate", "glitter"], "unknown annotation"), (["--fps", "nan"], "--fps"),
                          (["--orbit", "inf", "--out", str(tmp_path / "x.mp4")], "--orbit")):
        out = [] if "--out" in args else ["--out", str(tmp_path / "x.png")]
        _one_line_error(run("render", "--prompt", ARTICLE, *args, *out), pattern)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.real_model
def test_attribution_in_the_json(tmp_path):
    out = tmp_path / "attr.json"
    r = run("trace", "--prompt", ARTICLE, "--attribute", " Mary", "--contrast", " John", "--out", str(out))
    assert r.returncode == 0, r.stderr
    a = json.loads(out.read_text())["attribution"]
    assert a["target"] == {"id": 5099, "text": " Mary"} and a["contrast"] == {"id": 2322, "text": " John"}
    assert [row["layer"] for row in a["layers"]] == list(range(1, 31))
    total = a["embed"] + a["bias"] + sum(row["attn"]["dla"] + row["mlp"]["dla"] for row in a["layers"])
    assert total == pytest.approx(a["logit_diff"], abs=1e-3)
    assert all(row["attn"]["norm"] > 0 and row["mlp"]["norm"] > 0 for row in a["layers"])
    assert len(a["layers"][23]["attn"]["heads"]) == 9, "each head's term, for SmolLM2's 9 heads"
    assert max(a["layers"], key=lambda row: row["attn"]["dla"])["layer"] == 24
    alone = run("trace", "--prompt", ARTICLE, "--attribute", " Mary", "--out", str(out))
    assert alone.returncode == 0 and json.loads(out.read_text())["attribution"]["contrast"] is None


@pytest.mark.parametrize("args, pattern", [
    (["--attribute", " Zqxjw"], "tokens, not one"),
    (["--attribute", " Mary", "--contrast", " Mary"], "the target itself"),
    (["--contrast", " John"], "--contrast needs --attribute"),
    (["--attribute", " Mary", "--backend", "nnsight"], "need the direct backend"),
    (["--head", "24.3", "--backend", "nnsight"], "need the direct backend"),
    (["--head", "24"], "--head takes BLOCK.HEAD"),
    (["--head", "31.0"], "Block 31 is out of range"),
    (["--head", "2.9"], "Head 9 is out of range"),
])
def test_attribution_bad_input_one_line(tiny_dir, args, pattern):
    _one_line_error(run("trace", "--model", str(tiny_dir), "--prompt", "John and Mary", *args), pattern)


def test_attribution_refused_for_post_norm_models(tmp_path):
    from tiny_models import save_tiny

    folder = save_tiny("opt-350m", tmp_path / "opt350")
    _one_line_error(run("trace", "--model", str(folder), "--prompt", "John and Mary", "--attribute", "John"),
                    "post-norm")
