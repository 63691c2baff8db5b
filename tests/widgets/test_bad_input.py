"""Bad input in the window: a readable message, never a crash or a freeze."""

import json

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
    assert window.session.busy == ""
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
    assert window.session.model_info is None


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
