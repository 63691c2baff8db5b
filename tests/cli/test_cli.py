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
