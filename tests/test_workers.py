"""The model worker's start-up: the GIL-heavy work of a first load is done before the
window shows, and imports do not leave young garbage for the GUI thread to scan."""

import gc
import threading

from gui_support import LOAD_TIMEOUT


def test_import_hook_freezes_the_heap_and_yields_only_in_its_thread():
    from spherescope.workers import _ImportYield

    hook = _ImportYield(threading.get_ident())
    try:
        before = gc.get_freeze_count()
        garbage = [[] for _ in range(1000)]
        hook.last = 0.0  # the last hand-over was long ago
        assert hook.find_spec("anything") is None, "the hook must never find a module"
        assert gc.get_freeze_count() >= before + 1000, "the objects made so far were not frozen"
        assert hook.last > 0.0
        del garbage

        other = _ImportYield(threading.get_ident() + 1)  # some other thread's hook
        other.last = 0.0
        other.find_spec("anything")
        assert other.last == 0.0, "an import in another thread must not be slowed"
    finally:
        gc.unfreeze()


def test_window_parses_its_first_models_tokenizer_before_loading_it(qtbot, settings, tiny_dir, monkeypatch):
    from spherescope.models import tokenizer_prefetch
    from spherescope.widgets.main_window import MainWindow

    asked, handed = [], []
    real_prefetch, real_take = tokenizer_prefetch.prefetch, tokenizer_prefetch.take

    def prefetch(ref):
        asked.append(ref)
        return real_prefetch(ref)

    def take(path):
        handed.append(real_take(path))
        return handed[-1]

    monkeypatch.setattr(tokenizer_prefetch, "prefetch", prefetch)
    monkeypatch.setattr(tokenizer_prefetch, "take", take)
    win = MainWindow(settings=settings, model=str(tiny_dir))
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.session.vocab is not None, timeout=LOAD_TIMEOUT)
    assert asked == [str(tiny_dir)]
    assert handed and handed[0] is not None, "the load parsed the tokenizer again"
    assert win.controller.handle.worker.current.tokenizer.backend_tokenizer is handed[0]
    assert win.session.model_ref == str(tiny_dir)
    win.close()
