"""Prompt sets: traced a step at a time (models.set_trace), patched over their pairs
(models.set_patching).

A set of a thousand prompts takes a while; each step traces STEP prompts and asks to
go on (Again), so a Run or a load asked for meanwhile goes first and the window's
other views never wait for the whole set.
"""

from __future__ import annotations

from spherescope.jobs.base import MODEL_LOCK, Again, Context, Report
from spherescope.jobs.payloads import SetBatch
from spherescope.jobs.trace import current_model

STEP = 64  # prompts a step


def trace_set(ctx: Context, report: Report, prompt_set, position: int = -1, items=None, start: int = 0):
    """Partial results: a SetBatch as each step's prompts are done (the first, with none,
    once the set is read: its size). Returns the number of prompts traced."""
    from spherescope.models.set_trace import iter_set_traces, prepare_set

    model = current_model(ctx, report)
    with MODEL_LOCK:
        if items is None:
            items = prepare_set(model, prompt_set, position)
            report.partial(SetBatch((), 0, len(items)))
        step = items[start:start + STEP]
        traces = tuple(iter_set_traces(model, step, top_k=5, cancel=report.cancelled))
    report.check()
    done = start + len(step)
    report.partial(SetBatch(traces, done, len(items)))
    if done < len(items):
        return Again(prompt_set, position, items, done)
    return done


def patch_set(ctx: Context, report: Report, prompt_set, heads: bool = False):
    """models.set_patching.SetPatchGrid over the set's pairs; progress as pairs finish."""
    from spherescope.models.set_patching import prepare_pairs, set_patch

    model = current_model(ctx, report)
    with MODEL_LOCK:
        pairs = prepare_pairs(model, prompt_set)
        report.progress(f"Patching {len(pairs)} pairs", 0.0)
        return set_patch(model, pairs, heads=heads, cancel=report.cancelled,
                         on_progress=lambda done, total: report.progress(f"Patched {done} of {total} pairs",
                                                                         done / total))
