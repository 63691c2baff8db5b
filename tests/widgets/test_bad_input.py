"""Bad input in the window: a readable message, never a crash or a freeze."""

import json
import os

import pytest
from PySide6.QtCore import Qt

from tiny_models import save_tiny
from gui_support import ARTICLE, LOAD_TIMEOUT, RUN_TIMEOUT, type_and_run


def _message(win):
    return win.message_bar.text()


def test_empty_prompt(qtbot, window):
    type_and_run(qtbot, window, "", wait=False)
    assert "empty" in _message(window)
    assert window.session.busy == ""


def test_huge_paste_is_refused_with_message(qtbot, window):
    type_and_run(qtbot, window, "word " * 20_000, wait=False)  # 100,000 characters
    qtbot.waitUntil(lambda: "refused" in _message(window), timeout=RUN_TIMEOUT)
    assert window.session.busy == ""
    type_and_run(qtbot, window)  # the app is still usable
    assert window.session.trace.next_token.text == " Mary"


def test_control_characters_and_emoji(qtbot, window):
    prompt = "tab\there\x07 bell 🌍🚀 日本語 e\u0301"
    type_and_run(qtbot, window, prompt)
    assert window.prompt_dock.chips.count() == len(window.session.tokens) > 5
    assert _message(window) == ""


def test_missing_model_then_recover(qtbot, window):
    window.prompt_dock.choose_model("/no/such/model")
    qtbot.waitUntil(lambda: "not found" in _message(window), timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: window.session.busy == "", timeout=LOAD_TIMEOUT)  # not left busy
    assert window.session.model_ref == "embedded" and window.session.vocab is not None  # the old one stays
    window.prompt_dock.choose_model("embedded")
    qtbot.waitUntil(lambda: window.session.vocab is not None, timeout=LOAD_TIMEOUT)
    type_and_run(qtbot, window)


def test_corrupt_and_non_causal_models(qtbot, window, tmp_path):
    bad = save_tiny("llama", tmp_path / "bad")
    (bad / "config.json").write_text("{ not json")
    window.prompt_dock.choose_model(str(bad))
    qtbot.waitUntil(lambda: "configuration" in _message(window), timeout=RUN_TIMEOUT)
    from transformers import BertConfig, BertForMaskedLM

    BertForMaskedLM(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32)).save_pretrained(tmp_path / "bert")
    window.prompt_dock.choose_model(str(tmp_path / "bert"))
    qtbot.waitUntil(lambda: "not a left-to-right" in _message(window), timeout=RUN_TIMEOUT)
    # Neither was taken: the model that was loaded stays.
    qtbot.waitUntil(lambda: window.session.model_info is not None, timeout=LOAD_TIMEOUT)
    assert window.session.model_ref == "embedded" and window.session.model_info.architecture != "bert"


def test_run_pressed_repeatedly_and_fast(qtbot, window):
    finished = []
    window.session.trace_finished.connect(lambda: finished.append(window.session.trace.tokens))
    editor = window.prompt_dock.editor
    for i in range(10):
        editor.setPlainText(f"{ARTICLE} {i}" if i < 9 else ARTICLE)
        qtbot.mouseClick(window.prompt_dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.trace is not None and not window.session.busy, timeout=RUN_TIMEOUT)
    # Only the latest request's result reached the view, with all its layers.
    assert window.session.prompt == ARTICLE
    assert window.session.trace.next_token.text == " Mary"
    assert len(window.session.partial) == 31
    assert all(len(t) == 13 for t in finished[-1:])


def test_switch_model_during_run(qtbot, window, tmp_path):
    tiny = save_tiny("gpt2", tmp_path / "gpt2")
    type_and_run(qtbot, window, "The cat went up the stairs. " * 200, wait=False)
    window.prompt_dock.choose_model(str(tiny))
    qtbot.waitUntil(lambda: window.session.model_info is not None and window.session.model_info.architecture == "gpt2",
                    timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: window.session.busy == "", timeout=RUN_TIMEOUT)
    # The old model's run was dropped: nothing from it is shown.
    assert window.session.trace is None or window.session.trace.num_layers == 3
    type_and_run(qtbot, window, "John and Mary")
    assert window.session.trace.num_layers == 3


def test_close_during_load(qtbot, make_window, tmp_path):
    win = make_window(start=False)
    win.start(model=str(save_tiny("llama", tmp_path / "m")))
    win.close()  # while the worker is still loading: no crash, no hang
    assert not win.isVisible()


def test_settings_remember_model_and_prompts(qtbot, make_window, settings):
    win = make_window()
    type_and_run(qtbot, win)
    win.close()
    assert settings.value("last_model") == "embedded"
    again = make_window(start=False)
    assert again.session.recent_prompts[0] == ARTICLE
    assert again.last_model() == "embedded"
    assert json.dumps(list(settings.allKeys()))


def _scene_file(path, **fields):
    data = {"format": "spherescope-scene", "version": 1, "model": "embedded", "prompt": ARTICLE, **fields}
    path.write_text(json.dumps(data))
    return str(path)


def test_a_scene_naming_tokens_outside_the_vocabulary_opens_with_a_message(qtbot, window, tmp_path):
    """It froze the window (an IndexError inside a signal) before the ids were checked."""
    path = _scene_file(tmp_path / "s.spherescope", basis="token-plane", plane_tokens=[1_000_000_000, 5], layer=12)
    assert window.open_scene(path)
    assert "plane tokens do not fit this model" in _message(window)
    qtbot.waitUntil(lambda: window.session.trace is not None and not window.session.busy, timeout=RUN_TIMEOUT)
    assert 1_000_000_000 not in window.session.plane_tokens
    assert window.session.layer == 12 and window.session.trace.next_token.text == " Mary"
    type_and_run(qtbot, window, "The cat went up the stairs.")  # the window still works


@pytest.mark.parametrize("make, pattern", [
    (lambda p: p.write_text("[" * 100_000 + "]" * 100_000), "not valid scene JSON"),
    (lambda p: _scene_file(p, position=10**10), "out of range"),
    (lambda p: _scene_file(p, camera={"distance": 1e308}), "camera distance"),
    (lambda p: _scene_file(p, steer={"layer": 3, "toward": 2**63, "alpha": 5}), "steer"),
    (lambda p: os.mkfifo(p), "not a regular file"),
])
def test_hostile_scenes_in_the_window_are_a_message_and_change_nothing(qtbot, window, tmp_path, make, pattern):
    type_and_run(qtbot, window)
    s = window.session
    before = (s.prompt, s.layer, s.basis_kind, s.plane_tokens, s.model_ref, s.trace)
    p = tmp_path / "bad.spherescope"
    make(p)
    assert not window.open_scene(str(p))
    assert pattern in _message(window)
    assert (s.prompt, s.layer, s.basis_kind, s.plane_tokens, s.model_ref, s.trace) == before


def test_a_model_that_failed_to_load_is_not_remembered(qtbot, make_window, settings, tmp_path):
    """After a failed --model, the next launch failed too, until a model was named again."""
    win = make_window()
    bad = save_tiny("llama", tmp_path / "bad")
    (bad / "config.json").write_text("{ not json")
    win.prompt_dock.choose_model(str(bad))
    qtbot.waitUntil(lambda: "configuration" in _message(win), timeout=RUN_TIMEOUT)
    win.close()
    assert settings.value("last_model") == "embedded"
    assert make_window(start=False).last_model() == "embedded"


def test_a_model_that_fails_to_load_leaves_the_current_one_on_screen(qtbot, window, tmp_path):
    """A scene naming a broken model unloaded the current one, and the reason was then
    overwritten by 'No model is loaded'."""
    type_and_run(qtbot, window)
    bad = save_tiny("llama", tmp_path / "bad")
    (bad / "config.json").write_text("{ not json")
    path = _scene_file(tmp_path / "s.spherescope", model=str(bad), prompt="The cat went up the stairs.")
    assert window.open_scene(path)
    s = window.session
    qtbot.waitUntil(lambda: "stays loaded" in _message(window), timeout=RUN_TIMEOUT)
    assert "configuration" in _message(window)
    qtbot.waitUntil(lambda: s.trace is not None and not s.busy, timeout=LOAD_TIMEOUT)
    assert s.model_ref == "embedded" and s.prompt == ARTICLE and s.trace.next_token.text == " Mary"
    assert "configuration" in _message(window)  # not overwritten by the scene's run
    # The same model back from memory is drawn again (its cloud was once skipped as current).
    assert len(window.view.cloud.pos) == len(s.vocab.texts) == 49152


def _broken_link(tmp_path, loop: bool):
    folder = save_tiny("llama", tmp_path / "m")
    target = folder / "model.safetensors"
    target.unlink()
    target.symlink_to(target if loop else tmp_path / "nowhere.safetensors")
    return str(folder)


def _gguf(tmp_path, counts: tuple[int, int], body: bytes = b""):
    import struct

    path = tmp_path / "odd.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, *counts) + body + b"\0" * 64)
    return str(path)


@pytest.mark.parametrize("make, pattern", [
    (lambda p: _broken_link(p, loop=False), "not a readable file"),
    (lambda p: _broken_link(p, loop=True), "not a readable file"),
    (lambda p: _gguf(p, (0, 2**60)), "impossible number of entries"),
    (lambda p: _gguf(p, (0, 1), __import__("struct").pack("<Q", 2**62)), "larger than the whole file"),
    (lambda p: _gguf(p, (0, 1), __import__("struct").pack("<Q", 1) + b"k" + __import__("struct").pack("<IIQ", 9, 4, 2**60)),
     "larger than the whole file"),
])
def test_hostile_model_files_in_the_window_are_a_sentence_and_the_model_stays(qtbot, window, tmp_path, make, pattern):
    """The adversarial pass's window cases: the same sentences as on the command line,
    never "unexpected …", and the model on screen stays."""
    window.prompt_dock.choose_model(make(tmp_path))
    qtbot.waitUntil(lambda: pattern in _message(window), timeout=RUN_TIMEOUT)
    assert "unexpected" not in _message(window).lower()
    qtbot.waitUntil(lambda: window.session.model_info is not None and not window.session.busy, timeout=LOAD_TIMEOUT)
    assert window.session.model_ref == "embedded"
