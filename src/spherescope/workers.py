"""The one place that moves model work off the GUI thread.

A single worker thread owns every model. Requests are queued to it through Qt
signals; results come back through queued signals carrying the request's job id.
The latest request wins: a newer load cancels an older load and any trace, a newer
trace cancels an older trace (the check runs at every layer), and results whose job
id is no longer the latest are dropped on arrival, so stale frames never reach a view.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import traceback
from collections import OrderedDict

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

# transformers copies a checkpoint's tensors out of safetensors on a pool of threads,
# and each copy holds the GIL. With the pool, the window (one more thread waiting for
# the GIL) lost the hand-over again and again: 80-100 ms stalls while the default
# model loaded. One tensor at a time costs ~15% of a 0.4 s load and leaves the window
# the GIL between tensors.
os.environ.setdefault("HF_DEACTIVATE_ASYNC_LOAD", "1")

# Threads (and their workers) still finishing a job after their window closed: held
# here so Python does not destroy a running QThread, which would abort the process.
_ORPHANS: dict[QThread, QObject] = {}


# Loaded models are shared by every window of the process (reopening the same model is
# instant), at most two at a time to bound memory. One lock serialises all model work:
# trace hooks are attached to the modules, so two threads must never run one model at once.
_MODELS: OrderedDict[tuple, object] = OrderedDict()
_MODEL_LOCK = threading.Lock()
_MAX_MODELS = 2


class _Latest:
    """Generation counters read by the worker thread to notice it was superseded.

    Plain int attributes: reads and writes are atomic under the GIL, which is all
    a "has a newer request arrived?" check needs.
    """

    def __init__(self) -> None:
        self.model = 0
        self.trace = 0
        self.lens = 0
        self.lessons = 0
        self.roundtrip = 0
        self.closed = False


class ModelWorker(QObject):
    progress = Signal(int, str, float)  # job, stage, fraction (negative: unknown)
    loaded = Signal(int, object, float)  # job, ModelInfo, seconds
    vocab_ready = Signal(int, object)  # job, Vocab
    tokens_ready = Signal(int, object)  # job, tuple[Token]
    frame = Signal(int, int, object)  # job, layer, (T, d) residual
    traced = Signal(int, object, float)  # job, Trace, seconds
    lens_ready = Signal(int, int, object)  # job, position, tuple[LensTop]
    lessons_ready = Signal(int, int, object)  # job, position, tuple[LayerLesson]
    stats_ready = Signal(int, object)  # job, ModelStats
    roundtrip_ready = Signal(int, int, str, object)  # job, token, mode, scores (V,)
    fraction_ready = Signal(int, str, float)  # job, mode, fraction of tokens whose round trip returns itself
    failed = Signal(int, str, str)  # job, "load" | "trace" | "lens", message
    cancelled = Signal(int, str)
    warned = Signal(int, str)  # job, a warning to show without stopping (e.g. memory)

    _load = Signal(int, str, dict)
    _trace = Signal(int, int, str, int, int)  # job, model job, prompt, position, top_k
    _lens = Signal(int, int, int, int)  # job, model job, position, top_k
    _lessons = Signal(int, int, int, int)  # job, model job, trace job, position
    _roundtrip = Signal(int, int, int, str)  # job, model job, token, mode
    _fraction = Signal(int, str, int, int)  # model job, mode, start row, hits so far
    _fractions = Signal(int)  # model job: start counting round trips
    _warm = Signal(str)  # the model about to load, "" when unknown

    def __init__(self, latest: _Latest) -> None:
        super().__init__()
        self.latest = latest
        self.current = None  # LoadedModel
        self.current_job = -1
        self.trace = None  # last finished Trace
        self._load.connect(self._do_load)
        self._trace.connect(self._do_trace)
        self._lens.connect(self._do_lens)
        self._lessons.connect(self._do_lessons)
        self._roundtrip.connect(self._do_roundtrip)
        # Queued even within the worker thread: each chunk of the (long) round-trip
        # count is its own event, so a Run or a load queued meanwhile goes first.
        self._fraction.connect(self._do_fraction, Qt.ConnectionType.QueuedConnection)
        self._unembed_cache: dict = {}
        self._fractions.connect(self._start_fractions)
        self._warm.connect(self._do_warm)

    @Slot(str)
    def _do_warm(self, ref: str) -> None:
        """Get the GIL-heavy parts of a first load done while the window is being
        built, when a held GIL only delays the window's construction a little instead
        of freezing a window already on screen.

        In order: torch's C++ libraries, dlopened without the GIL
        (`_preload_torch_libraries`: 0.3 s that overlaps the window's construction for
        free); the coming model's tokenizer, parsed in one ~0.1 s GIL-holding call
        (models.tokenizer_prefetch); then `import torch`, whose extension still holds
        the GIL for ~0.1 s registering its Python bindings, and transformers. Measured
        launch cost of the tokenizer here: none beyond the run-to-run noise (median
        1.337 s with it, 1.334 s without, over 8 interleaved launches). Failures are
        left for the real load to report.
        """
        _yield_during_imports()
        _preload_torch_libraries()
        if ref:
            from spherescope.models.tokenizer_prefetch import prefetch

            prefetch(ref)
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401
            # transformers imports each architecture (and its loading machinery, 1-2 s)
            # lazily on first use; the default model's is worth having ready.
            from transformers import LlamaConfig, LlamaForCausalLM  # noqa: F401
        except Exception:  # noqa: BLE001
            return
        _freeze_heap()

    # ---- jobs (run in the worker thread) ----
    @Slot(int, str, dict)
    def _do_load(self, job: int, ref: str, options: dict) -> None:
        from spherescope.models.errors import Cancelled

        if job != self.latest.model or self.latest.closed:
            return
        t0 = time.perf_counter()
        try:
            with _MODEL_LOCK:
                loaded, vocab = self._get_model(job, ref, options)
            self.current, self.current_job, self.trace = loaded, job, None
            self._unembed_cache = {}
            self.loaded.emit(job, loaded.info, time.perf_counter() - t0)
            self.vocab_ready.emit(job, vocab)
            from spherescope.models.lessons import model_stats

            with _MODEL_LOCK:
                stats = model_stats(loaded)
            self.stats_ready.emit(job, stats)

        except Cancelled:
            self.cancelled.emit(job, "load")
        except Exception as exc:  # a worker must never die: report and carry on
            self.failed.emit(job, "load", _message(exc))

    def _get_model(self, job: int, ref: str, options: dict):
        from spherescope.models.errors import Cancelled
        from spherescope.models.sources import load_model, resolve

        key = (resolve(ref).ref, tuple(sorted(options.items())))
        entry = _MODELS.get(key)
        if entry is None:
            def progress(stage: str, frac: float | None) -> None:
                if job != self.latest.model or self.latest.closed:
                    raise Cancelled()
                self.progress.emit(job, stage, -1.0 if frac is None else float(frac))

            # Only for a model not already in memory: a cached one has spent its memory.
            warning = _memory_warning(ref, options)
            if warning:
                self.warned.emit(job, warning)
            loaded = load_model(ref, progress=progress, cancel=lambda: job != self.latest.model, **options)
            self.progress.emit(job, "Computing token directions", 0.99)
            entry = (loaded, _vocab_for(loaded))
            _freeze_heap()  # the model and its vocabulary geometry live until it is replaced
            _MODELS[key] = entry
            while len(_MODELS) > _MAX_MODELS:
                _MODELS.popitem(last=False)
        _MODELS.move_to_end(key)
        if job != self.latest.model:
            raise Cancelled()
        return entry

    @Slot(int, int, str, int, int)
    def _do_trace(self, job: int, model_job: int, prompt: str, position: int, top_k: int) -> None:
        from spherescope.models.errors import Cancelled
        from spherescope.models.trace import tokenize, trace_prompt

        def stale() -> bool:
            return job != self.latest.trace or model_job != self.latest.model or self.latest.closed

        if stale():
            return
        if self.current is None or self.current_job != model_job:
            self.failed.emit(job, "trace", "No model is loaded; choose one in the Prompt panel.")
            return
        t0 = time.perf_counter()
        try:
            with _MODEL_LOCK:
                tokens = tokenize(self.current, prompt)
                self.tokens_ready.emit(job, tokens)
                pos = position if 0 <= position < len(tokens) else None
                trace = trace_prompt(
                    self.current, prompt, position=pos, top_k=top_k, tokens=tokens,
                    on_layer=lambda f: self.frame.emit(job, f.layer, f.residual), cancel=stale,
                )
            self.trace = trace
            self.traced.emit(job, trace, time.perf_counter() - t0)
        except Cancelled:
            self.cancelled.emit(job, "trace")
        except Exception as exc:
            self.failed.emit(job, "trace", _message(exc))

    @Slot(int, int, int, int)
    def _do_lens(self, job: int, model_job: int, position: int, top_k: int) -> None:
        from spherescope.models.trace import lens_tops

        if job != self.latest.lens or model_job != self.latest.model or self.trace is None:
            return
        try:
            tr = self.trace
            if not 0 <= position < tr.residuals.shape[1]:
                return
            with _MODEL_LOCK:
                lens = lens_tops(self.current, tr.residuals[:, position], top_k)
            self.lens_ready.emit(job, position, lens)
        except Exception as exc:
            self.failed.emit(job, "lens", _message(exc))


    # ---- lesson views ----
    @Slot(int, int, int, int)
    def _do_lessons(self, job: int, model_job: int, trace_job: int, position: int) -> None:
        from spherescope.models.lessons import position_lessons

        def stale() -> bool:
            # A new Run supersedes the lessons of the old trace at once (checked per layer).
            return (job != self.latest.lessons or model_job != self.latest.model or trace_job != self.latest.trace
                    or self.latest.closed)

        if stale() or self.trace is None or not 0 <= position < self.trace.residuals.shape[1]:
            return
        try:
            with _MODEL_LOCK:
                result = position_lessons(self.current, self.trace.residuals[:, position], cancel=stale)
            if result is not None and not stale():
                self.lessons_ready.emit(job, position, result)
        except Exception as exc:
            self.failed.emit(job, "lessons", _message(exc))

    def _unembed_for(self, mode: str):
        """The matrix that unembeds a round trip: W_E itself (transpose) or its left inverse."""
        from spherescope.core.lessons import left_inverse

        if mode not in self._unembed_cache:
            W_E = self.current.embedding()
            self._unembed_cache[mode] = W_E if mode == "transpose" else left_inverse(W_E)
        return self._unembed_cache[mode]

    @Slot(int, int, int, str)
    def _do_roundtrip(self, job: int, model_job: int, token: int, mode: str) -> None:
        from spherescope.core.lessons import round_trip_scores

        if job != self.latest.roundtrip or model_job != self.latest.model or self.current is None:
            return
        try:
            with _MODEL_LOCK:
                scores = round_trip_scores(self.current.embedding(), token, self._unembed_for(mode))
            self.roundtrip_ready.emit(job, token, mode, scores)
        except Exception as exc:
            self.failed.emit(job, "roundtrip", _message(exc))

    @Slot(int)
    def _start_fractions(self, model_job: int) -> None:
        if model_job != self.latest.model or self.current is None or self.current_job != model_job:
            return
        done = getattr(self.current, "_fractions", {})
        for mode, value in done.items():
            self.fraction_ready.emit(model_job, mode, value)
        if "transpose" not in done:
            self._fraction.emit(model_job, "transpose", 0, 0)
        elif "pinv" not in done:
            self._fraction.emit(model_job, "pinv", 0, 0)

    @Slot(int, str, int, int)
    def _do_fraction(self, model_job: int, mode: str, start: int, hits: int) -> None:
        import numpy as np

        if model_job != self.latest.model or self.latest.closed or self.current is None:
            return
        chunk = 512  # about a fifth of a second: a Run queued meanwhile waits no longer
        try:
            with _MODEL_LOCK:
                W_E = self.current.embedding()
                unembed = self._unembed_for(mode)
                block = W_E[start:start + chunk]
                best = _one_thread_argmax(unembed, block)
            hits += int((best == np.arange(start, start + len(block))).sum())
        except Exception as exc:
            self.failed.emit(model_job, "roundtrip", _message(exc))
            return
        if start + chunk < W_E.shape[0]:
            self._fraction.emit(model_job, mode, start + chunk, hits)
            return
        fraction = hits / W_E.shape[0]
        if not hasattr(self.current, "_fractions"):
            self.current._fractions = {}
        self.current._fractions[mode] = fraction  # once per model and process, like the model itself
        self.fraction_ready.emit(model_job, mode, fraction)
        if mode == "transpose" and "pinv" not in self.current._fractions:
            self._fraction.emit(model_job, "pinv", 0, 0)


def _one_thread_argmax(unembed, block):
    """argmax over the vocabulary of unembed @ block.T, on one core: the count runs in
    the background for tens of seconds, and with both cores it starved the window's
    drawing (a layer step went from ~13 to ~19 ms). Traces keep all cores."""
    import numpy as np
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dtype = np.result_type(unembed, block)
        scores = torch.from_numpy(np.ascontiguousarray(unembed, dtype)) @ torch.from_numpy(np.ascontiguousarray(block, dtype)).T
        return scores.argmax(dim=0).numpy()
    finally:
        torch.set_num_threads(threads)


def _vocab_for(loaded):
    """Token directions, lengths and the unembedding PCA: computed once per model.

    The rows are centred before taking directions: subtracting the mean row m shifts
    every logit by the same m.h, which softmax ignores, so the picture loses nothing
    the model uses, while the shared mean direction (which otherwise crowds the whole
    vocabulary into one cap of the sphere) is gone.
    """
    import numpy as np

    from spherescope.core.projection import pca_basis, project
    from spherescope.core.text import visible
    from spherescope.state.session import Vocab

    w, _ = loaded.unembedding()
    lengths = np.linalg.norm(w, axis=1).astype(np.float32)
    mean = w.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = w - mean
    directions = np.ascontiguousarray(centred / np.maximum(np.linalg.norm(centred, axis=1), 1e-12)[:, None], dtype=np.float32)
    raw = np.ascontiguousarray(w / np.maximum(lengths, 1e-12)[:, None], dtype=np.float32)
    texts = tuple(loaded.vocab_text())
    lookup: dict[str, int] = {}
    for i, t in enumerate(texts):
        lookup.setdefault(visible(t, 60), i)
    embed = None
    e = loaded.embedding()
    if not loaded.info.tied_embeddings and e.shape == w.shape:
        e_len = np.maximum(np.linalg.norm(e, axis=1), 1e-12)[:, None]
        ec = e - e.mean(axis=0, dtype=np.float64).astype(np.float32)
        e_dirs = np.ascontiguousarray(ec / np.maximum(np.linalg.norm(ec, axis=1), 1e-12)[:, None], dtype=np.float32)
        e_raw = np.ascontiguousarray(e / e_len, dtype=np.float32)
        embed = (e_dirs, pca_basis(e_dirs), e_raw, pca_basis(e_raw))
    pca, raw_pca = pca_basis(directions), pca_basis(raw)
    return Vocab(directions=directions, lengths=lengths, texts=texts, pca=pca, mean=mean,
                 raw_directions=raw, raw_pca=raw_pca, lookup=lookup, completions=tuple(sorted(lookup)), embed=embed,
                 projected=((pca, project(directions, pca)), (raw_pca, project(raw, raw_pca))))


def _memory_warning(ref: str, options: dict) -> str | None:
    """The model dialog warns before loading; a model opened any other way (recent
    list, drag and drop, command line) gets the same check here, from file headers."""
    from spherescope.models.errors import ModelError
    from spherescope.models.summary import available_memory, likely_device, memory_warning, summarize

    device = likely_device(options.get("device"))
    try:
        summary = summarize(ref)
    except ModelError:
        return None  # the load itself reports what is wrong
    return memory_warning(summary, options.get("dtype"), device, available_memory(device))


class _ImportYield:
    """A meta-path hook that finds nothing, but lets the GUI thread have the GIL for a
    moment every 15 ms while the worker imports.

    Importing torch and transformers is a long run of short system calls (stat, open,
    read: thousands of modules, and source lookups by decorators). Each releases the
    GIL and retakes it at once, and CPython 3.11 then never asks the worker to give it
    up, so a waiting GUI thread could starve for 100-300 ms. A 1 ms sleep hands it over
    (measured cost: ~2% of the import time).

    The same moment freezes the heap (see `_freeze_heap`). Imports create objects by
    the hundred thousand, and the young generations they fill were scanned by the GUI
    thread's collector: 70-90 ms per collection while torch imported. Frozen every
    15 ms, a collection sees at most the last 15 ms of allocations; what imports create
    (modules, classes, functions) lives until exit anyway."""

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.last = time.perf_counter()

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == self.thread_id:
            now = time.perf_counter()
            if now - self.last > 0.015:
                _freeze_heap()
                time.sleep(0.001)
                self.last = time.perf_counter()
        return None


def _yield_during_imports() -> None:
    if not any(isinstance(f, _ImportYield) for f in sys.meta_path):
        sys.meta_path.insert(0, _ImportYield(threading.get_ident()))


def _preload_torch_libraries() -> None:
    """dlopen torch's C++ libraries through a ctypes call, which releases the GIL
    (CPython's own extension loading keeps it), so the GUI thread runs meanwhile.
    libtorch_python and the extension itself are left to `import torch`: their
    initialisers touch Python objects. Linux only, best effort: any failure just
    leaves the work to the import."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return
    try:
        import ctypes
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec is None or spec.origin is None:
            return
        lib = os.path.join(os.path.dirname(spec.origin), "lib")
        dlopen = ctypes.CDLL(None).dlopen
        dlopen.argtypes, dlopen.restype = [ctypes.c_char_p, ctypes.c_int], ctypes.c_void_p
        for name in ("libgomp.so.1", "libc10.so", "libtorch_cpu.so", "libtorch.so"):
            path = os.path.join(lib, name)
            if os.path.exists(path) and not dlopen(path.encode(), os.RTLD_NOW | os.RTLD_LOCAL):
                return
    except Exception:  # noqa: BLE001
        return


def _freeze_heap() -> None:
    """Move everything alive now (modules, the model's objects) out of the collector's
    reach: they live as long as the process, and scanning them made each full
    collection on the GUI thread a visible stall. Safe from this thread: freezing frees
    nothing. Garbage cycles already there stay until exit; that is a few kB."""
    import gc

    gc.freeze()


def _message(exc: BaseException) -> str:
    from spherescope.core.atomic import WriteError
    from spherescope.models.errors import SpherescopeError

    if isinstance(exc, (SpherescopeError, WriteError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: try a shorter prompt or a smaller model."
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    traceback.print_exc()
    return f"Unexpected {type(exc).__name__}: {first}"


class WorkerHandle(QObject):
    """GUI-side handle: owns the thread, numbers the jobs, and filters stale results."""

    def __init__(self, parent: QObject | None = None, expect: str | None = None) -> None:
        """`expect`: the model the first load will ask for, so its tokenizer is parsed
        before the window shows."""
        super().__init__(parent)
        self.latest = _Latest()
        self._ids = itertools.count(1)
        self.thread = QThread()
        self.thread.setObjectName("spherescope-model-worker")
        self.worker = ModelWorker(self.latest)
        self.worker.moveToThread(self.thread)
        self.thread.start()
        self.worker._warm.emit(expect or "")  # (no-op imports when already done)

    def load(self, ref: str, **options) -> int:
        job = next(self._ids)
        self.latest.model = job
        self.latest.trace = job  # a model switch also cancels a running trace
        self.worker._load.emit(job, ref, options)
        return job

    def trace(self, prompt: str, position: int, top_k: int) -> int:
        job = next(self._ids)
        self.latest.trace = job
        self.worker._trace.emit(job, self.latest.model, prompt, position, top_k)
        return job

    def lens(self, position: int, top_k: int) -> int:
        job = next(self._ids)
        self.latest.lens = job
        self.worker._lens.emit(job, self.latest.model, position, top_k)
        return job

    def lessons(self, position: int) -> int:
        job = next(self._ids)
        self.latest.lessons = job
        self.worker._lessons.emit(job, self.latest.model, self.latest.trace, position)
        return job

    def roundtrip(self, token: int, mode: str) -> int:
        job = next(self._ids)
        self.latest.roundtrip = job
        self.worker._roundtrip.emit(job, self.latest.model, token, mode)
        return job

    def fractions(self) -> None:
        self.worker._fractions.emit(self.latest.model)

    def cancel_trace(self) -> None:
        self.latest.trace = next(self._ids)

    def is_latest(self, job: int, kind: str) -> bool:
        return job == getattr(self.latest, kind) and not self.latest.closed

    def shutdown(self, wait_ms: int = 0) -> None:
        """Cancel everything; let the thread finish its current job without blocking the GUI."""
        self.latest.closed = True
        self.latest.model = self.latest.trace = self.latest.lens = self.latest.lessons = self.latest.roundtrip = -1
        self.thread.quit()
        if wait_ms and self.thread.wait(wait_ms):
            return
        # Pruned here and at exit, never from the thread's own `finished` signal: that
        # runs in the worker thread, and dropping the last reference to a QThread from
        # inside itself destroys it from the wrong thread.
        for t in [t for t in _ORPHANS if not t.isRunning()]:
            _ORPHANS.pop(t, None)
        if self.thread.isRunning():
            _ORPHANS[self.thread] = self.worker


def wait_for_orphans(ms: int = 30000) -> None:
    """At application exit: let workers of closed windows end before Python tears down."""
    for t in list(_ORPHANS):
        t.wait(ms)
        _ORPHANS.pop(t, None)
