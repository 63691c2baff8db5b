"""Loading models, and the start-up work that makes the first load gentle on the window.

Loaded models are shared by every worker of the process (reopening the same model is
instant), at most two at a time to bound memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from spherescope import runtime
from spherescope.jobs.base import MODEL_LOCK, Context, Report
from spherescope.jobs.payloads import ModelReady, Notice
from spherescope.models.errors import ModelError

_MODELS: OrderedDict[tuple, tuple] = OrderedDict()  # key -> (LoadedModel, Vocab)
MAX_MODELS = 2


@dataclass(frozen=True)
class Loaded:
    """The end of a load: what the window shows about the model."""

    info: Any  # models.loaded.ModelInfo
    vocab: Any  # core.vocab.Vocab
    stats: Any  # models.lessons.ModelStats
    seconds: float


def warm(ctx: Context, report: Report, ref: str) -> None:
    """Get the GIL-heavy parts of a first load done while the window is being built,
    when a held GIL only delays the window's construction a little instead of freezing
    a window already on screen.

    In order: torch's C++ libraries, dlopened without the GIL
    (`runtime.preload_torch_libraries`: 0.3 s that overlaps the window's construction
    for free); the coming model's tokenizer, parsed in one ~0.1 s GIL-holding call
    (models.tokenizer_prefetch); then `import torch`, whose extension still holds the
    GIL for ~0.1 s registering its Python bindings, and transformers. Measured launch
    cost of the tokenizer here: none beyond the run-to-run noise (median 1.337 s with
    it, 1.334 s without, over 8 interleaved launches). Failures are left for the real
    load to report.
    """
    from spherescope.models import tokenizer_prefetch

    runtime.yield_during_imports()
    runtime.preload_torch_libraries()
    with runtime.eager_handover():
        if ref:
            tokenizer_prefetch.prefetch(ref)
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401
            # transformers imports each architecture (and its loading machinery, 1-2 s)
            # lazily on first use; the default model's is worth having ready.
            from transformers import LlamaConfig, LlamaForCausalLM  # noqa: F401
        except Exception:  # noqa: BLE001
            return
    runtime.freeze_heap()


def load(ctx: Context, report: Report, ref: str, options: dict) -> Loaded:
    """Load `ref` (or take it from memory), with its vocabulary geometry and stats.

    Partial results (jobs.payloads): Progress, Notice and, as soon as the model is
    usable, ModelReady: the window draws the cloud before the token-norm statistics
    are ready."""
    # A load asked for before any warm-up (a launch that loads at once) imports torch
    # itself (models.lessons below is the first to), so the same measures first, or
    # torch's extension holds the GIL while the dynamic linker resolves its libraries: a
    # pause of the window at every launch (benchmarks/bench_stalls.py). Both
    # return at once when already done.
    runtime.yield_during_imports()
    runtime.preload_torch_libraries()
    with runtime.eager_handover():
        return _load(ctx, report, ref, options)


def _load(ctx: Context, report: Report, ref: str, options: dict) -> Loaded:
    from spherescope.models.lessons import model_stats

    t0 = time.perf_counter()
    with MODEL_LOCK:
        loaded, vocab = _get_model(report, ref, options)
    ctx.model, ctx.model_job, ctx.trace, ctx.trace_job = loaded, report.job, None, -1
    ctx.caches = {}
    seconds = time.perf_counter() - t0
    report.partial(ModelReady(loaded.info, vocab, seconds))
    with MODEL_LOCK:
        stats = model_stats(loaded)
    return Loaded(loaded.info, vocab, stats, seconds)


def adopt(ctx: Context, report: Report, model, tokenizer, name: str = "in-memory model") -> Loaded:
    """A transformers model and tokenizer already in memory (a researcher's fine-tune),
    taken as they are: wrapped with a lens, its vocabulary geometry and statistics made,
    like any loaded model. It is not kept in the shared cache (it is the caller's)."""
    from spherescope.core.vocab import build_vocab
    from spherescope.models.lessons import model_stats
    from spherescope.models.loaded import LoadedModel
    from spherescope.models.source import Source

    t0 = time.perf_counter()
    with MODEL_LOCK:
        model.eval()
        loaded = LoadedModel.wrap(model, tokenizer, Source("memory", name))
        u, gain, _bias = loaded.head_factors()
        vocab = build_vocab(u, loaded.vocab_text(), None if loaded.info.tied_embeddings else loaded.embedding(),
                            scale=gain)
        stats = model_stats(loaded)
    ctx.model, ctx.model_job, ctx.trace, ctx.trace_job = loaded, report.job, None, -1
    ctx.caches = {}
    seconds = time.perf_counter() - t0
    report.partial(ModelReady(loaded.info, vocab, seconds))
    return Loaded(loaded.info, vocab, stats, seconds)


def _get_model(report: Report, ref: str, options: dict):
    from spherescope.core.vocab import build_vocab
    from spherescope.models.loader import load_model
    from spherescope.models.source import resolve

    key = (resolve(ref).ref, tuple(sorted(options.items())))
    entry = _MODELS.get(key)
    if entry is None:
        def progress(stage: str, frac: float | None) -> None:
            report.check()
            report.progress(stage, frac)

        # Only for a model not already in memory (a cached one has spent its memory), and
        # only when it loads anyway: otherwise load_model refuses it, on the same estimate
        # (its sentence is the message), and reading the headers here too was work twice.
        warning = memory_warning(ref, options) if options.get("ignore_memory") else None
        if warning:
            report.partial(Notice(warning))
        loaded = load_model(ref, progress=progress, cancel=report.cancelled, **options)
        from spherescope.models import cache

        if cache.fallback_warning:
            report.partial(Notice(cache.fallback_warning))
        report.progress("Computing token directions", 0.99)
        u, gain, _bias = loaded.head_factors()
        embedding = None if loaded.info.tied_embeddings else loaded.embedding()
        entry = (loaded, build_vocab(u, loaded.vocab_text(), embedding, scale=gain))
        runtime.freeze_heap()  # the model and its vocabulary geometry live until it is replaced
        runtime.release_free_memory()  # the load's temporaries: tens of MB glibc would keep
        _MODELS[key] = entry
        while len(_MODELS) > MAX_MODELS:
            _MODELS.popitem(last=False)
    _MODELS.move_to_end(key)
    report.check()
    return entry


def raw_space(ctx: Context, report: Report, vocab):
    """`vocab` with its uncentred directions (core.vocab.with_raw), for the model it
    belongs to; the shared cache keeps the completed one."""
    from spherescope.core.vocab import with_raw
    from spherescope.jobs.trace import current_model

    model = current_model(ctx, report)
    with MODEL_LOCK:
        done = with_raw(vocab)
    for key, (loaded, cached) in list(_MODELS.items()):
        if loaded is model and cached is vocab:
            _MODELS[key] = (loaded, done)
    return done


def memory_warning(ref: str, options: dict) -> str | None:
    """The model dialog warns before loading; a model opened any other way (recent
    list, drag and drop, command line) gets the same check here, from file headers."""
    from spherescope.models import devices, summary

    device = devices.likely_device(options.get("device"))
    try:
        s = summary.summarize(ref)
    except ModelError:
        return None  # the load itself reports what is wrong
    return summary.memory_warning(s, options.get("dtype"), device, devices.available_memory(device))

