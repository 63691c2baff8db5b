"""Command lines from a hostile user, for `trace` (with the steering and attribution
options), `patch` and `render`. The property: an int exit within a time bound; 0 with a
complete output, or one line on stderr (no traceback, no "unexpected"); no temporary
file left behind. The tiny model stands in for the load (the real model's own tests
cover it), so each example costs milliseconds, not a 5 s load."""

from __future__ import annotations

import contextlib
import io
import json
import os
from unittest import mock

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from spherescope.cli import main
from tests.fuzz.bounds import assert_one_sentence, within
from tests.fuzz.strategies import hostile_text

PROMPTS = ["John and Mary went to the bar. John bought a drink for",
           "John and Mary went to the bar. Mary bought a drink for", "The cat went up the stairs.", "x"]
TOKENS = [" Mary", " John", "John", " cat", "Mary", " the", "<eos>", " zzzz-not-a-token"]
NUMBERS = ["0", "1", "2", "3", "-1", "-4", "99", "2147483648", "-2147483649", "1e3", "0.5", "nan", "inf",
           "-inf", "20", "-300", "1e308", ""]
OUTS = ["out.json", "", ".", "/dev/null", "/proc/nope/x.json", "missing/x.json", "a" * 300 + ".json",
        "ok.png", "ok.mp4", "ok.gif", "ok.svg", "ok.txt"]


def text_from(choices):
    """Mostly plausible values (so examples get past the parser), sometimes hostile ones."""
    return st.one_of(st.sampled_from(choices), st.sampled_from(choices), hostile_text)


def flags(spec: dict) -> st.SearchStrategy[list[str]]:
    """Some of the flags in `spec`, each with a value from its strategy, in any order."""
    def build(chosen):
        return st.tuples(*(st.tuples(st.just(f), spec[f]) for f in chosen)).map(
            lambda pairs: [x for pair in pairs for x in pair])
    return st.lists(st.sampled_from(sorted(spec)), unique=True, max_size=6).flatmap(build)


TRACE = {
    "--position": text_from(NUMBERS), "--top-k": text_from(NUMBERS), "--out": st.sampled_from(OUTS),
    "--tokens": text_from([" Mary, John", " Mary, Mary", "Mary,John, cat", ","]),
    "--attribute": text_from(TOKENS), "--contrast": text_from(TOKENS),
    "--steer-layer": text_from(NUMBERS), "--steer-toward": text_from(TOKENS), "--steer-away": text_from(TOKENS),
    "--steer-alpha": text_from(NUMBERS), "--steer-position": text_from(NUMBERS),
    "--device": st.sampled_from(["cpu", "auto", "cuda", "cuda:7", "mps", "shard", "tpu", ""]),
    "--dtype": st.sampled_from(["float32", "float16", "bfloat16", "float8"]),
}
PATCH = {"--clean": text_from(PROMPTS), "--corrupt": text_from(PROMPTS), "--target": text_from(TOKENS),
         "--contrast": text_from(TOKENS), "--out": st.sampled_from(OUTS)}
RENDER = {
    "--prompt": text_from(PROMPTS), "--compare": text_from(PROMPTS), "--position": text_from(NUMBERS),
    "--layer": text_from(NUMBERS + ["all"]), "--out": st.sampled_from(OUTS),
    "--view": st.sampled_from(["sphere", "plane", "compare", "patching", "norms", "nope"]),
    "--basis": st.sampled_from(["unembedding-pca", "token-plane", "trajectory-pca", "x"]),
    "--tokens": text_from([" Mary, John", " Mary, Mary", ","]), "--size": text_from(["1920x1080", "0x0", "99999x2", "641x480", "axb"]),
    "--fps": text_from(NUMBERS), "--speed": text_from(NUMBERS), "--orbit": text_from(NUMBERS),
    "--alpha": text_from(NUMBERS), "--annotate": text_from(["all", "none", "title,kept", "bogus"]),
    "--style": st.sampled_from(["dark", "slide", "paper", "neon"]),
}


class ReachedModelWork(BaseException):
    """Raised by the stand-in load: every argument was accepted (BaseException, so no
    handler in the command can mistake it for a failure of its own)."""


@contextlib.contextmanager
def in_folder(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run(argv: list[str], folder) -> tuple[int | None, str]:
    err, out = io.StringIO(), io.StringIO()
    with in_folder(folder), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), within(60):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code
        except ReachedModelWork:
            code = None
    return code, err.getvalue()


def check(code, err: str, argv: list[str], folder) -> None:
    assert code is None or isinstance(code, int), code
    event("reached the model" if code is None else f"exit {code}")
    if code:
        assert_one_sentence(err)
    else:
        assert "Traceback" not in err and "unexpected" not in err, err
    left = [p.name for p in folder.rglob("*") if p.name.startswith(".spherescope-") or ".part" in p.name]
    assert not left, f"temporary files left behind: {left}"
    if code == 0 and "--out" in argv:
        name = argv[argv.index("--out") + 1]
        target = folder / name
        if name.endswith(".json") and target.is_file():
            json.loads(target.read_text())  # complete, standard JSON (never a bare NaN)


@pytest.fixture(scope="module")
def tiny(tiny_loaded):
    with mock.patch("spherescope.models.loader.load_model", lambda *a, **k: tiny_loaded):
        yield tiny_loaded


@given(prompt=text_from(PROMPTS), extra=flags(TRACE))
def test_trace(tiny, tmp_path_factory, prompt, extra):
    argv = ["trace", "--prompt", prompt, *extra]
    folder = tmp_path_factory.mktemp("cli")
    check(*run(argv, folder), argv, folder)


@given(extra=flags(PATCH))
def test_patch(tiny, tmp_path_factory, extra):
    argv = ["patch", "--clean", PROMPTS[0], "--corrupt", PROMPTS[1], "--target", " Mary", "--contrast", " John",
            *extra]  # later flags win: the fuzzed ones replace these
    folder = tmp_path_factory.mktemp("cli")
    check(*run(argv, folder), argv, folder)


def _reached(*args, **kwargs):
    raise ReachedModelWork


@given(extra=flags(RENDER))
def test_render_arguments_are_all_checked_before_the_model_loads(qapp, tmp_path_factory, extra):
    argv = ["render", "--prompt", PROMPTS[0], "--out", "ok.png", *extra]
    folder = tmp_path_factory.mktemp("cli")
    with mock.patch("spherescope.jobs.load.load", _reached):
        check(*run(argv, folder), argv, folder)
