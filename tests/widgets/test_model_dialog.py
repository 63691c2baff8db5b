"""The model dialog: summary before loading, a memory warning, device and precision."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from gui_support import LOAD_TIMEOUT, RUN_TIMEOUT, type_and_run
from spherescope.models import devices
from spherescope.models import summary as summary_mod
from spherescope.widgets.model_dialog import LENS_NOTE, ModelDialog
from tiny_models import save_tiny


def _facts(dlg) -> dict:
    out = {}
    for row in range(dlg.facts.rowCount()):
        label = dlg.facts.itemAt(row, dlg.facts.ItemRole.LabelRole)
        field = dlg.facts.itemAt(row, dlg.facts.ItemRole.FieldRole) or dlg.facts.itemAt(row, dlg.facts.ItemRole.SpanningRole)
        key = label.widget().text() if label else ""
        out[key] = field.widget().text() if field and isinstance(field.widget(), QLabel) else ""
    return out


def test_dialog_summarises_the_embedded_model(qtbot):
    dlg = ModelDialog()
    qtbot.addWidget(dlg)
    facts = _facts(dlg)
    assert facts["Architecture"] == "llama" and facts["Layers"] == "30" and facts["Width (d)"] == "576"
    assert facts["Vocabulary"] == "49,152" and facts["Embeddings"].startswith("tied")
    assert facts["Parameters"] == "134.5M" and facts["Licence"] == "apache-2.0"
    assert "Estimated memory" in dlg.memory.text() and dlg.warning.text() == ""
    assert any(LENS_NOTE == w.text() for w in dlg.findChildren(QLabel))
    assert dlg.choice().ref == "embedded"


def test_typing_a_folder_updates_the_summary(qtbot, tmp_path):
    folder = save_tiny("gpt-neox", tmp_path / "neox")
    dlg = ModelDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.source.lineEdit().clear()
    qtbot.keyClicks(dlg.source.lineEdit(), str(folder))
    qtbot.waitUntil(lambda: _facts(dlg).get("Architecture") == "gpt_neox", timeout=5000)
    assert _facts(dlg)["Embeddings"].startswith("untied") and _facts(dlg)["Layers"] == "3"
    dlg.source.lineEdit().setText(str(tmp_path / "nothing"))
    qtbot.waitUntil(lambda: "not found" in " ".join(_facts(dlg).values()), timeout=5000)
    assert dlg.memory.text() == "" and not dlg.memory.isVisible()
    assert not dlg.load_button.isEnabled()  # nothing there to load
    dlg.source.lineEdit().setText("someone/uncached-model")
    dlg.refresh()
    assert "local Hugging Face cache" in " ".join(_facts(dlg).values())
    assert dlg.load_button.isEnabled()  # a hub id may still download


def test_memory_warning_before_loading(qtbot, monkeypatch):
    from spherescope.models import devices as md

    monkeypatch.setattr(md, "available_memory", lambda device: 300 * 2**20)  # a 300 MB machine
    dlg = ModelDialog()
    qtbot.addWidget(dlg)
    assert "only 300.0 MB" in dlg.warning.text() and dlg.load_button.text() == "Load anyway"
    monkeypatch.setattr(md, "available_memory", lambda device: 64 * 2**30)
    dlg.precision.setCurrentIndex(dlg.precision.findData("bfloat16"))
    assert dlg.warning.text() == "" and dlg.load_button.text() == "Load"
    assert "as bfloat16" in dlg.memory.text()


def test_dialog_loads_with_the_chosen_precision(qtbot, window, tmp_path):
    folder = save_tiny("llama", tmp_path / "llama")
    # The combo's last entry opens the dialog, as a user would.
    combo = window.prompt_dock.model_combo
    window.prompt_dock._on_model_activated(combo.count() - 1)
    dlg = window.model_dialog
    qtbot.waitExposed(dlg)
    dlg.source.lineEdit().setText(str(folder))
    dlg.refresh()
    dlg.precision.setCurrentIndex(dlg.precision.findData("bfloat16"))
    assert dlg.device.itemData(0) == "auto" and dlg.device.findData("cpu") >= 0
    qtbot.mouseClick(dlg.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.model_info is not None and window.session.model_info.dtype == "bfloat16",
                    timeout=LOAD_TIMEOUT)
    assert window.session.model_ref == str(folder)
    assert "float32 lens" in window.status_device.text() and "bfloat16" in window.status_device.text()
    type_and_run(qtbot, window, "John and Mary")
    assert window.session.trace.residuals.dtype.name == "float32"
    # Back to the embedded model in float32 through the dialog again.
    dlg = window.open_model_dialog()
    dlg.set_source("embedded")
    dlg.precision.setCurrentIndex(dlg.precision.findData("float32"))
    qtbot.mouseClick(dlg.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.model_info is not None and window.session.model_info.dtype == "float32"
                    and window.session.model_info.num_layers == 30, timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: window.session.busy == "", timeout=RUN_TIMEOUT)


def test_summary_module_reads_no_weights(monkeypatch):
    # Header reads only: loading weights from the dialog would stall the window.
    import builtins

    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (opened.append(str(f)), real_open(f, *a, **k))[1])
    summary_mod.summarize("embedded")
    assert all(f.endswith((".gguf", "meminfo")) for f in opened)


def test_a_model_too_big_for_the_memory_is_refused_unless_loaded_anyway(qtbot, window, tmp_path, monkeypatch):
    """Opened without the dialog (the recent list, a drop), a model whose estimate exceeds
    the free memory is refused before anything is allocated, and the current one stays;
    the dialog's "Load anyway" loads it, for that load only."""
    folder = save_tiny("gpt2", tmp_path / "gpt2")
    monkeypatch.setattr(devices, "available_memory", lambda device: 100 * 2**20)
    window.prompt_dock.choose_model(str(folder))
    qtbot.waitUntil(lambda: "Not loading" in window.message_bar.text(), timeout=LOAD_TIMEOUT)
    assert "only 100.0 MB" in window.message_bar.text() and "Load anyway" in window.message_bar.text()
    qtbot.waitUntil(lambda: window.session.model_info is not None, timeout=LOAD_TIMEOUT)
    assert window.session.model_ref == "embedded"

    window.prompt_dock._on_model_activated(window.prompt_dock.model_combo.count() - 1)
    dlg = window.model_dialog
    qtbot.waitExposed(dlg)
    dlg.source.setEditText(str(folder))
    dlg.refresh()
    assert dlg.load_button.text() == "Load anyway"
    qtbot.mouseClick(dlg.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.model_info is not None and window.session.model_info.architecture == "gpt2",
                    timeout=LOAD_TIMEOUT)
    assert "Needs about" in window.message_bar.text()  # said, though not refused
    assert "ignore_memory" not in window.controller.load_options and not window.controller.ignore_memory_once


def test_precision_is_remembered_but_not_the_pickle_opt_in(qtbot, make_window, tmp_path):
    from spherescope.widgets.model_dialog import ModelChoice

    folder = str(save_tiny("llama", tmp_path / "llama"))
    win = make_window(model=folder)
    win.apply_model_choice(ModelChoice(folder, {"dtype": "bfloat16", "allow_pickle": True}))
    qtbot.waitUntil(lambda: win.session.model_info is not None and win.session.model_info.dtype == "bfloat16",
                    timeout=LOAD_TIMEOUT)
    win.close()  # saves settings
    again = make_window(start=False)
    assert again.controller.load_options == {"dtype": "bfloat16"}
    again.start()
    qtbot.waitUntil(lambda: again.session.model_info is not None, timeout=LOAD_TIMEOUT)
    assert again.session.model_ref == folder and again.session.model_info.dtype == "bfloat16"


def test_switching_models_traces_the_same_prompt_again(qtbot, window, tmp_path):
    type_and_run(qtbot, window, "John and Mary")
    assert window.session.trace.model_name.startswith("SmolLM2")
    folder = save_tiny("gpt2", tmp_path / "gpt2")
    window.prompt_dock.choose_model(str(folder))
    # The old trace is gone at once (it lives in the old model's space) and the prompt
    # is traced again on the new model without another Run.
    assert window.session.trace is None
    qtbot.waitUntil(lambda: window.session.trace is not None and window.session.model_info is not None
                    and window.session.trace.model_name == str(folder), timeout=LOAD_TIMEOUT)
    assert window.session.prompt == "John and Mary" and not window.session.busy
    assert window.session.trace.residuals.shape[-1] == window.session.model_info.hidden_size == 32


def test_no_memory_warning_for_a_model_already_in_memory(qtbot, window, monkeypatch):
    # The window fixture has loaded the embedded model; loading it again (here with
    # "no memory free") takes the copy in memory, which has spent its memory already.
    messages = []
    window.controller.message.connect(lambda text, is_error: messages.append(text))
    monkeypatch.setattr(devices, "available_memory", lambda device: 100 * 2**20)
    window.controller.load("embedded")
    qtbot.waitUntil(lambda: window.session.vocab is not None, timeout=LOAD_TIMEOUT)
    assert not any("Needs about" in m for m in messages)
