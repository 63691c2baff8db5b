"""Measures that keep the window responsive while the worker imports and loads.

Python threads share one GIL, so heavy work in the model worker can freeze the window
even though it runs on another thread. Each measure here answers a stall that was
measured on the 2-core reference machine (software OpenGL, no GPU); the numbers are
in the docstrings. Nothing here imports Qt: the GUI-thread half (the garbage
collector that runs on a timer) lives in app.py.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time

# transformers copies a checkpoint's tensors out of safetensors on a pool of threads,
# and each copy holds the GIL. With the pool, the window (one more thread waiting for
# the GIL) lost the hand-over again and again: visible stalls while the default model
# loaded (benchmarks/bench_stalls.py). One tensor at a time costs a little of the load
# and leaves the window the GIL between tensors. Set when this module is imported, before transformers is.
os.environ.setdefault("HF_DEACTIVATE_ASYNC_LOAD", "1")


class ImportYield:
    """A meta-path hook that finds nothing, but lets the GUI thread have the GIL for a
    moment every 15 ms while the worker imports.

    Importing torch and transformers is a long run of short system calls (stat, open,
    read: thousands of modules, and source lookups by decorators). Each releases the
    GIL and retakes it at once, and CPython 3.11 then never asks the worker to give it
    up, so a waiting GUI thread could starve for a visible pause. A 1 ms sleep hands it
    over, at a small cost to the import (benchmarks/bench_stalls.py).

    The same moment freezes the heap (see `freeze_heap`). Imports create objects by
    the hundred thousand, and the young generations they fill were scanned by the GUI
    thread's collector, each collection a pause while torch imported. Frozen every
    15 ms, a collection sees at most the last 15 ms of allocations; what imports create
    (modules, classes, functions) lives until exit anyway.

    And it keeps `inspect`'s index of module files current (`index_module_files`)."""

    def __init__(self, thread_id: int) -> None:
        self.thread_ids = {thread_id}
        self.last = time.perf_counter()

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() in self.thread_ids:
            now = time.perf_counter()
            if now - self.last > 0.015:
                freeze_heap()
                index_module_files()
                time.sleep(0.001)
                self.last = time.perf_counter()
        return None


INDEX_EVERY = 100
_indexed = 0  # len(sys.modules) at the last index


def index_module_files() -> None:
    """Bring `inspect`'s file-to-module index up to date with the modules imported since
    the last call. torch's import records where its custom operators are defined
    (inspect.getframeinfo), and the first lookup indexes every module loaded so far:
    ~2,000 of them, each with a stat and a realpath's lstat per folder. That run of
    short system calls, each releasing and at once retaking the GIL, starved the GUI
    thread (the starvation `ImportYield` answers for imports). Indexed whenever
    INDEX_EVERY more modules have arrived, no run is long; each update walks all
    modules, hence not at every hand-over."""
    global _indexed
    inspect = sys.modules.get("inspect")
    if inspect is None or len(sys.modules) - _indexed < INDEX_EVERY:
        return
    _indexed = len(sys.modules)
    try:
        # An int has no __module__, so getmodule falls through to its index update and
        # then finds nothing for a file that is no module's.
        inspect.getmodule(0, "<spherescope: index module files>")
    except Exception:  # noqa: BLE001 - an index left to inspect itself is only slower
        return


_LOCAL = threading.local()


@contextlib.contextmanager
def in_callers_process():
    """Work done for a caller's own process (spherescope.figure, the Python API) on this
    thread: the window's measures (the import hook, the switch interval, the frozen
    heap) are left out, so the caller's garbage collector and scheduling stay its own."""
    import warnings

    before = getattr(_LOCAL, "caller", False)
    _LOCAL.caller = True
    try:
        with warnings.catch_warnings():
            # tqdm's notebook progress bar warns on import inside Jupyter without
            # ipywidgets; transformers imports it, and spherescope shows no such bar.
            warnings.filterwarnings("ignore", message="IProgress not found")
            yield
    finally:
        _LOCAL.caller = before


def for_caller() -> bool:
    return getattr(_LOCAL, "caller", False)


def yield_during_imports() -> None:
    """For imports made by the calling thread (the model worker, the launch's importer)."""
    if for_caller():
        return
    for f in sys.meta_path:
        if isinstance(f, ImportYield):
            f.thread_ids.add(threading.get_ident())
            return
    sys.meta_path.insert(0, ImportYield(threading.get_ident()))


HANDOVER_S = 0.001  # the switch interval while the model worker imports and loads
_handover_lock = threading.Lock()
_handover_depth = 0
_handover_saved = 0.005


@contextlib.contextmanager
def eager_handover():
    """While the worker imports torch and transformers and loads a model, a thread
    waiting for the GIL asks for it after HANDOVER_S instead of CPython's 5 ms.

    That wait restarts whenever the holder releases and retakes the GIL, as it does
    around every system call; importing is thousands of them (stat, open, read, and
    torch's decorators looking up their source files), so the GUI thread could wait
    through a whole run of them: visible pauses during most loads
    (`benchmarks/bench_stalls.py` measures them). With 1 ms, runs of Python work between
    the calls are long enough for the request to be made, and the load takes as long.
    Process-wide, so nested and concurrent uses restore it only when the last ends."""
    global _handover_depth, _handover_saved
    if for_caller():
        yield
        return
    with _handover_lock:
        if _handover_depth == 0:
            _handover_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_handover_saved, HANDOVER_S))
        _handover_depth += 1
    try:
        yield
    finally:
        with _handover_lock:
            _handover_depth -= 1
            if _handover_depth == 0:
                sys.setswitchinterval(_handover_saved)


def preload_torch_libraries() -> None:
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


def freeze_heap() -> None:
    """Move everything alive now (modules, the model's objects) out of the collector's
    reach: they live as long as the process, and scanning them made each full
    collection on the GUI thread a visible stall. Safe from this thread: freezing frees
    nothing. Garbage cycles already there stay until exit; that is a few kB."""
    if not for_caller():
        gc.freeze()


def quick_pyside_module_check() -> None:
    """PySide6 inspects every module imported after it, to learn whether the module
    uses PySide (for its optional `__feature__` switches, which spherescope does not
    use): `inspect.getsource` tokenises the module's whole source and keeps it in
    `linecache`. For the 2,500 modules of torch and transformers that cost, measured
    in one process: 0.4 s more import time (3.7 s against 3.3 s), all of it holding
    the GIL, and 109 MB of memory that stays (466 MB against 357 MB peak: 46 million
    characters of source in linecache). The same question, answered by searching the
    file's bytes for "PySide6", keeps PySide's behaviour and costs neither.
    Call after PySide6 is imported; best effort (PySide's internals may change)."""
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "quick", False):
        return

    def uses_pyside(module) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return False  # built-in or compiled: getsource has nothing to read either
        try:
            with open(path, "rb") as f:
                return b"PySide6" in f.read()
        except OSError:
            return False

    uses_pyside.quick = True
    feature._mod_uses_pyside = uses_pyside


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except Exception:  # noqa: BLE001 - not glibc: nothing to tune
        return None


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let C allocations of every thread share two glibc heaps instead of one per
    thread (up to 8 per core). The worker, torch's pool and the GUI thread each kept a
    64 MB arena of their own, mostly freed memory that stays counted: the window with
    the default model loaded held 1,414 MB against 1,364 MB with two arenas (measured
    in one session). Call before threads start; glibc only, best effort."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def release_free_memory() -> None:
    """Hand freed C memory back to the system (glibc keeps it for reuse, and it counts
    as the process's own). After a model load, whose temporaries are gone: 30-60 MB
    (measured after the default model's load and first trace). A few milliseconds, on
    the worker; glibc only, best effort."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
