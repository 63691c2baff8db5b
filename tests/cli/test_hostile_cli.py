"""Hostile arguments and files on the command line: one sentence, a non-zero exit, no
traceback, no hang, nothing half-written (issues: reliability, parts one and two)."""

import json
import os
import subprocess
import sys

import pytest

from spherescope.cli import main
from tests.cli.test_cli import ARTICLE, _one_line_error, _scene, run


def _snapshot(tmp_path, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "spherescope", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, HF_HUB_OFFLINE="1",
                                                    XDG_CONFIG_HOME=str(tmp_path / "cfg")))


def test_snapshot_of_a_scene_with_no_prompt_exits_at_once(tmp_path):
    scene = _scene(tmp_path / "s.spherescope", prompt="")
    r = _snapshot(tmp_path, "--snapshot", str(tmp_path / "f.png"), scene, timeout=60)
    assert r.returncode == 1 and "nothing to trace" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "f.png").exists()


def test_snapshot_of_a_deeply_nested_scene_is_one_sentence_not_an_abort(tmp_path):
    p = tmp_path / "deep.spherescope"
    p.write_text("[" * 100_000 + "]" * 100_000)
    r = _snapshot(tmp_path, "--snapshot", str(tmp_path / "f.png"), str(p), timeout=60)
    assert r.returncode == 1 and "not valid scene JSON" in r.stderr
    assert "Traceback" not in r.stderr and "QThread" not in r.stderr and "Aborted" not in r.stderr


@pytest.mark.real_model
def test_snapshot_of_a_scene_with_token_ids_beyond_the_vocabulary_says_so_and_exits(tmp_path):
    path = tmp_path / "s.spherescope"
    _scene(path, prompt=ARTICLE, basis="token-plane", plane_tokens=[1_000_000_000, 5])
    r = _snapshot(tmp_path, "--snapshot", str(tmp_path / "f.png"), str(path), timeout=300)
    assert r.returncode == 1 and "plane tokens do not fit this model" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "IndexError" not in r.stderr


@pytest.mark.parametrize("args, pattern", [
    (["trace", "--prompt", ARTICLE, "--out", ""], "file name is empty"),
    (["trace", "--prompt", "   \n\t "], "prompt is empty"),
    (["trace", "--prompt", ARTICLE, "--out", "/dev/null"], "not a regular file"),
    (["render", "--prompt", ARTICLE, "--orbit", "nan", "--out", "x.gif"], "--orbit must be"),
    (["render", "--prompt", ARTICLE, "--orbit", "inf", "--out", "x.gif"], "--orbit must be"),
    (["render", "--prompt", ARTICLE, "--fps", "0", "--out", "x.mp4"], "--fps must be"),
    (["render", "--prompt", ARTICLE, "--out", ""], "--out must end"),
])
def test_arguments_refused_before_any_model_work(args, pattern, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0 and len(err.strip().splitlines()) == 1 and pattern in err, err


def test_invalid_utf8_in_an_argument_is_one_sentence():
    r = subprocess.run([sys.executable, "-m", "spherescope", "trace", "--prompt", b"caf\xe9 \xff".decode("utf-8", "surrogateescape")],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    _one_line_error(r, "not valid UTF-8")


def test_the_same_token_twice_is_refused(tiny_dir, capsys, tmp_path):
    code = main(["trace", "--model", str(tiny_dir), "--prompt", "John and Mary", "--tokens", " Mary, Mary"])
    err = capsys.readouterr().err
    assert code != 0 and "given twice" in err


def test_nnsight_refuses_a_prompt_over_the_context_before_any_model_work(tiny_dir):
    pytest.importorskip("nnsight")
    r = run("trace", "--model", str(tiny_dir), "--backend", "nnsight", "--prompt", "the cat " * 200)
    _one_line_error(r, "refused, not truncated")


def test_json_is_standard_never_nan(tiny_dir, tmp_path):
    out = tmp_path / "t.json"
    r = run("trace", "--model", str(tiny_dir), "--prompt", "John and Mary", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert oct(out.stat().st_mode & 0o777) != "0o600", "a new file gets the umask's permissions"
