"""Prompt sets: traced a step at a time (models.set_trace), patched over their pairs
(models.set_patching), steered (models.set_steer).

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


def steer_set(ctx: Context, report: Report, prompt_set, layer: int, toward: int | None, away: int | None,
              scale: float):
    """models.set_steer.SetSteerCurve over round α values out to 3 x `scale` (the set's
    median |h| at the layer); `toward` None: each prompt toward its own contrast."""
    from spherescope.core.patching import sweep_alphas
    from spherescope.models.set_steer import set_steer_curve
    from spherescope.models.set_trace import prepare_set

    model = current_model(ctx, report)
    with MODEL_LOCK:
        items = prepare_set(model, prompt_set, -1)
        report.progress(f"Steering {len(items)} prompts", 0.0)
        return set_steer_curve(model, items, layer, toward, away, sweep_alphas(scale), cancel=report.cancelled,
                               on_progress=lambda done, total: report.progress(
                                   f"Steered {done} of {total} passes", done / total))
