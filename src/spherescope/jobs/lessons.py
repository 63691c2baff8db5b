"""The lesson views' model work: per-layer numbers for one position, the embed ->
unembed round trip of one token, and the count of tokens whose round trip returns
themselves."""

from __future__ import annotations

import numpy as np

from spherescope.jobs.base import MODEL_LOCK, Again, Context, Report
from spherescope.jobs.payloads import FractionDone
from spherescope.core.lessons import ROUND_TRIP_MODES
from spherescope.jobs.trace import current_model
from spherescope.models.errors import ModelError

FRACTION_CHUNK = 512  # rows per step: about a fifth of a second, so a Run queued meanwhile waits no longer


def lessons(ctx: Context, report: Report, position: int):
    """(position, per-layer LayerLesson) for the last trace; None when that trace is
    gone or the position is not in it."""
    from spherescope.models.lessons import position_lessons

    model = current_model(ctx, report)
    tr = ctx.trace
    if tr is None or not 0 <= position < tr.residuals.shape[1]:
        return None
    with MODEL_LOCK:
        result = position_lessons(model, tr.residuals[:, position], cancel=report.cancelled)
    report.check()
    return None if result is None else (position, result)


def _unembed_for(ctx: Context, mode: str):
    """The matrix that unembeds a round trip in this mode, made once per model."""
    from spherescope.core.lessons import unembed_for_round_trip

    W_E = ctx.model.embedding()
    return ctx.cache(("unembed", mode), lambda: unembed_for_round_trip(W_E, mode))


def roundtrip(ctx: Context, report: Report, token: int, mode: str):
    """(token, mode, scores over the vocabulary, the embedding row W_E[token])."""
    from spherescope.core.lessons import round_trip_scores

    model = current_model(ctx, report)
    with MODEL_LOCK:
        W_E = model.embedding()
        if not 0 <= token < W_E.shape[0]:
            raise ModelError(f"Token id {token} is not in this model's vocabulary (0..{W_E.shape[0] - 1}).")
        return token, mode, round_trip_scores(W_E, token, _unembed_for(ctx, mode)), W_E[token].copy()


def split_token(ctx: Context, report: Report, text: str):
    """A text the vocabulary lacks as one token (' NEXT' in SmolLM2): how the tokenizer
    splits it, and the closest single token. Closest: among tokens with the same text
    but for case, the one whose embedding points most nearly where the pieces' mean
    embedding points; failing those, the nearest of the whole vocabulary.
    Returns (pieces as [(id, text)], closest id)."""
    model = current_model(ctx, report)
    with MODEL_LOCK:
        ids = [int(i) for i in model.tokenizer(text, add_special_tokens=False)["input_ids"]]
        if not ids:
            raise ModelError(f"{text!r} makes no tokens; type some visible text.")
        W_E = model.embedding()
        target = W_E[ids].mean(axis=0)
        texts = model.vocab_text()
        same = [i for i, t in enumerate(texts) if t.lower() == text.lower()]
        pool = np.array(same if same else range(len(texts)))
        rows = W_E[pool]
        cos = rows @ target / (np.linalg.norm(rows, axis=1) * max(float(np.linalg.norm(target)), 1e-12) + 1e-12)
        closest = int(pool[int(np.argmax(cos))])
    return [(i, texts[i]) for i in ids], closest


def fractions(ctx: Context, report: Report, mode: str = "", start: int = 0, hits: int = 0):
    """The fraction of tokens whose round trip returns themselves, in each of
    ROUND_TRIP_MODES in turn, counted FRACTION_CHUNK rows per step (each step is its own queued
    event). Partial results: a FractionDone as each mode is done; the
    counts are kept per model, like the model itself."""
    model = current_model(ctx, report)
    # Kept on the model, which every window of the process shares: counted once.
    done = model.__dict__.setdefault("_fractions", {})
    if not mode:  # the first step: report what is known, start what is not
        for m, value in done.items():
            report.partial(FractionDone(m, value))
        todo = [m for m in ROUND_TRIP_MODES if m not in done]
        return Again(todo[0], 0, 0) if todo else None
    with MODEL_LOCK:
        W_E = model.embedding()
        unembed = _unembed_for(ctx, mode)
        block = W_E[start:start + FRACTION_CHUNK]
        best = one_thread_argmax(unembed, block)
    hits += int((best == np.arange(start, start + len(block))).sum())
    if start + FRACTION_CHUNK < W_E.shape[0]:
        return Again(mode, start + FRACTION_CHUNK, hits)
    done[mode] = hits / W_E.shape[0]
    report.partial(FractionDone(mode, done[mode]))
    todo = [m for m in ROUND_TRIP_MODES if m not in done]
    return Again(todo[0], 0, 0) if todo else None


def one_thread_argmax(unembed, block):
    """argmax over the vocabulary of unembed @ block.T, on one core: the count runs in
    the background for tens of seconds, and with both cores it starved the window's
    drawing (layer steps slowed by half, benchmarks/bench_gui.py). Traces keep all cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dtype = np.result_type(unembed, block)
        scores = torch.from_numpy(np.ascontiguousarray(unembed, dtype)) @ torch.from_numpy(np.ascontiguousarray(block, dtype)).T
        return scores.argmax(dim=0).numpy()
    finally:
        torch.set_num_threads(threads)
