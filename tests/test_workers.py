"""The model worker's start-up: the GIL-heavy work of a first load is done before the
window shows, and imports do not leave young garbage for the GUI thread to scan."""

import gc
import threading

from gui_support import LOAD_TIMEOUT


def test_import_hook_freezes_the_heap_and_yields_only_in_its_thread():
    from spherescope.runtime import ImportYield

    hook = ImportYield(threading.get_ident())
    try:
        before = gc.get_freeze_count()
        garbage = [[] for _ in range(1000)]
        hook.last = 0.0  # the last hand-over was long ago
        assert hook.find_spec("anything") is None, "the hook must never find a module"
        assert gc.get_freeze_count() >= before + 1000, "the objects made so far were not frozen"
        assert hook.last > 0.0
        del garbage

        other = ImportYield(threading.get_ident() + 1)  # some other thread's hook
        other.last = 0.0
        other.find_spec("anything")
        assert other.last == 0.0, "an import in another thread must not be slowed"
    finally:
        gc.unfreeze()


def test_the_import_hook_keeps_inspects_module_index_current(tmp_path, monkeypatch):
    """torch's import asks inspect where its operators are defined; the first such
    lookup indexed every module loaded so far in one long run of system calls. The
    hook indexes modules as they arrive, once enough are new."""
    import importlib
    import inspect
    import sys

    from spherescope import runtime

    (tmp_path / "spherescope_probe_mod.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("spherescope_probe_mod")
    try:
        path = inspect.getabsfile(module)
        inspect.modulesbyfile.pop(path, None)
        inspect._filesbymodname.pop("spherescope_probe_mod", None)
        monkeypatch.setattr(runtime, "_indexed", len(sys.modules) - runtime.INDEX_EVERY + 1)
        runtime.index_module_files()
        assert path not in inspect.modulesbyfile, "indexed before enough modules were new"
        monkeypatch.setattr(runtime, "_indexed", len(sys.modules) - runtime.INDEX_EVERY)
        runtime.index_module_files()
        assert inspect.modulesbyfile.get(path) == "spherescope_probe_mod"
        assert runtime._indexed == len(sys.modules)
    finally:
        sys.modules.pop("spherescope_probe_mod", None)


def test_eager_handover_shortens_the_switch_interval_until_the_last_use_ends():
    import sys

    from spherescope import runtime

    before = sys.getswitchinterval()
    with runtime.eager_handover():
        assert sys.getswitchinterval() == min(before, runtime.HANDOVER_S)
        with runtime.eager_handover():  # a load inside a warm-up, or two threads at once
            pass
        assert sys.getswitchinterval() == min(before, runtime.HANDOVER_S), "the inner use restored it early"
    assert sys.getswitchinterval() == before
    try:
        with runtime.eager_handover():
            raise ValueError("a failed load")
    except ValueError:
        pass
    assert sys.getswitchinterval() == before, "a failure left the interval short"


def test_the_load_jobs_run_with_the_eager_handover(monkeypatch):
    """warm and load import and load with it; both are where the window's pauses were."""
    import sys

    from spherescope import runtime
    from spherescope.jobs import load as load_jobs
    from spherescope.models import tokenizer_prefetch

    seen = []
    # Not for this (the test's) process: the import hook would slow its imports, and the
    # freeze keep its objects from the collector, for the rest of the session.
    monkeypatch.setattr(runtime, "yield_during_imports", lambda: None)
    monkeypatch.setattr(runtime, "freeze_heap", lambda: None)
    monkeypatch.setattr(tokenizer_prefetch, "prefetch", lambda ref: seen.append(sys.getswitchinterval()))
    monkeypatch.setattr(load_jobs, "_load", lambda *a: seen.append(sys.getswitchinterval()))
    load_jobs.warm(None, None, "embedded")
    load_jobs.load(None, None, "embedded", {})
    assert seen == [min(runtime.HANDOVER_S, sys.getswitchinterval())] * 2


def test_window_parses_its_first_models_tokenizer_before_loading_it(qtbot, settings, tiny_dir, monkeypatch):
    from spherescope.models import tokenizer_prefetch
    from spherescope.app import build_main_window

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
    win = build_main_window(settings=settings, model=str(tiny_dir))
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.session.vocab is not None, timeout=LOAD_TIMEOUT)
    assert asked == [str(tiny_dir)]
    assert handed and handed[0] is not None, "the load parsed the tokenizer again"
    assert win.controller.runner.context.model.tokenizer.backend_tokenizer is handed[0]
    assert win.session.model_ref == str(tiny_dir)
    win.close()


# ---- the generic job runner, with plain functions (no window, no model) ----

import threading as _threading

import pytest

from spherescope.jobs.base import Again, JobKind


@pytest.fixture
def runner(qtbot):
    from spherescope.workers import JobRunner

    r = JobRunner()
    yield r
    r.shutdown(wait_ms=10_000)


def _wait_until_cancelled(started: _threading.Event):
    def job(ctx, report):
        started.set()
        # Holds the worker until the runner says this job is no longer wanted.
        while not report.cancelled():
            _threading.Event().wait(0.002)
        report.check()
    return job


def test_latest_request_of_a_kind_wins(qtbot, runner):
    started = _threading.Event()
    done, cancelled = [], []
    runner.done.connect(lambda kind, job, result: done.append((kind, job, result)))
    runner.cancelled.connect(lambda kind, job: cancelled.append((kind, job)))
    first = runner.submit(JobKind.TRACE, _wait_until_cancelled(started))
    assert started.wait(10)
    with qtbot.waitSignal(runner.done, timeout=10_000):
        second = runner.submit(JobKind.TRACE, lambda ctx, report: "second")
    assert done == [(JobKind.TRACE, second, "second")]
    assert cancelled == [(JobKind.TRACE, first)], "the superseded job stopped part-way and said so"


def test_a_job_is_stale_once_a_job_it_depends_on_is_superseded(qtbot, runner):
    started = _threading.Event()
    got = []
    runner.submit(JobKind.LOAD, lambda ctx, report: "model 1")
    runner.submit(JobKind.TRACE, _wait_until_cancelled(started), depends=(JobKind.LOAD,),
                  on_done=got.append, on_cancelled=lambda: got.append("trace cancelled"))
    assert started.wait(10)
    with qtbot.waitSignal(runner.done, timeout=10_000, check_params_cb=lambda k, j, r: r == "model 2"):
        runner.submit(JobKind.LOAD, lambda ctx, report: "model 2")
    qtbot.waitUntil(lambda: "trace cancelled" in got, timeout=10_000)
    assert got == ["trace cancelled"]


def test_cancel_failure_and_partial_results(qtbot, runner):
    started = _threading.Event()
    with qtbot.waitSignal(runner.cancelled, timeout=10_000):
        runner.submit(JobKind.TRACE, _wait_until_cancelled(started))
        assert started.wait(10)
        runner.cancel(JobKind.TRACE)
    assert not runner.busy(JobKind.TRACE)

    def broken(ctx, report):
        raise ValueError("bad value")

    failures = []
    with qtbot.waitSignal(runner.failed, timeout=10_000) as blocker:
        runner.submit(JobKind.LENS, broken, on_failed=failures.append)
    assert blocker.args[2] == failures[0] == "Unexpected ValueError: bad value"

    def streaming(ctx, report):
        for i in range(3):
            report.partial(i)
        return "end"

    order = []
    runner.partial.connect(lambda kind, job, p: order.append(p))
    with qtbot.waitSignal(runner.done, timeout=10_000):
        runner.submit(JobKind.LESSONS, streaming, on_done=order.append)
    assert order == [0, 1, 2, "end"], "partial results arrive in order, before the result"


def test_a_job_that_runs_again_lets_queued_work_go_first(qtbot, runner):
    order = []

    def counting(ctx, report, step=0):
        order.append(f"count {step}")
        if step == 0:
            # While this step runs, something else is asked for; it goes before step 1.
            runner_ask.set()
            other_queued.wait(10)
        return Again(step + 1) if step < 2 else "counted"

    runner_ask, other_queued = _threading.Event(), _threading.Event()
    with qtbot.waitSignal(runner.done, timeout=10_000, check_params_cb=lambda k, j, r: r == "counted"):
        runner.submit(JobKind.FRACTIONS, counting)
        assert runner_ask.wait(10)
        runner.submit(JobKind.ROUNDTRIP, lambda ctx, report: order.append("roundtrip"))
        other_queued.set()
    assert order == ["count 0", "roundtrip", "count 1", "count 2"]


def test_a_script_that_fails_with_a_job_running_exits_without_an_abort():
    """An uncaught error while the worker was busy destroyed its running QThread at
    interpreter exit: "QThread: Destroyed while thread ... is still running", then
    SIGABRT (exit 134). Running workers are now stopped in order at exit."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import time
        from PySide6.QtCore import QCoreApplication
        from spherescope.jobs.base import JobKind
        from spherescope.workers import JobRunner

        app = QCoreApplication([])
        runner = JobRunner()
        runner.submit(JobKind.TRACE, lambda ctx, report: time.sleep(1.0))
        raise RuntimeError("the script's own error")
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "the script's own error" in r.stderr
    assert "QThread" not in r.stderr and "Aborted" not in r.stderr


def test_superseded_jobs_leave_no_record_and_free_what_their_callbacks_captured(qtbot, runner):
    """200 submits while the worker is busy: all but the last go stale before they
    start. Their records (and the vocabularies their callbacks hold) must not stay."""
    import gc
    import weakref

    class Vocab:  # stands in for the whole vocabulary a raw-directions callback captures
        pass

    started, release = _threading.Event(), _threading.Event()

    def hold(ctx, report):
        started.set()
        release.wait(10)
        return "held"

    runner.submit(JobKind.ROUNDTRIP, hold)
    assert started.wait(10)
    refs = []
    for i in range(200):
        vocab = Vocab()
        refs.append(weakref.ref(vocab))
        last = runner.submit(JobKind.TRACE, lambda ctx, report, i=i: i, on_done=lambda r, v=vocab: v)
        del vocab
    release.set()
    with qtbot.waitSignal(runner.done, timeout=10_000, check_params_cb=lambda k, j, r: j == last):
        pass
    qtbot.waitUntil(lambda: not runner._jobs, timeout=10_000)
    gc.collect()
    assert sum(r() is not None for r in refs) == 0, "a superseded job's callback kept what it captured"
