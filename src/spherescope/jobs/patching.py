"""Activation patching across layers and positions, and one patched run (models.patching)."""

from __future__ import annotations

from spherescope.jobs.base import MODEL_LOCK, Context, Report
from spherescope.jobs.payloads import PatchPlanned, PatchRow, PatchStarted
from spherescope.jobs.trace import current_model


def _traced_pair(model, report: Report, clean: str, corrupt: str):
    """Both prompts traced plainly (call under MODEL_LOCK)."""
    from spherescope.models.trace import trace_prompt

    return trace_prompt(model, clean, cancel=report.cancelled), trace_prompt(model, corrupt, cancel=report.cancelled)


def patch(ctx: Context, report: Report, clean: str, corrupt: str, target: int, contrast: int):
    """The recovery grid; partial results: PatchPlanned, then PatchStarted (no rows) once
    both prompts are traced, then a PatchRow as each layer's row finishes."""
    from spherescope.models.patching import check_patchable, patch_grid

    model = current_model(ctx, report)
    with MODEL_LOCK:
        clean_trace, corrupt_trace = _traced_pair(model, report, clean, corrupt)
        check_patchable(clean_trace, corrupt_trace, target, contrast, model.info.vocab_size)
        return patch_grid(model, clean_trace, corrupt_trace, target, contrast, cancel=report.cancelled,
                          on_start=lambda grid: report.partial(PatchStarted(grid)),
                          on_row=lambda layer, row: report.partial(PatchRow(layer, row)),
                          on_plan=lambda plan: report.partial(PatchPlanned(plan)))


def patched(ctx: Context, report: Report, clean: str, corrupt: str, layer: int, position: int, top_k: int):
    """The corrupt prompt's trace with one cell's clean residual put in."""
    from spherescope.models.patching import patched_trace

    model = current_model(ctx, report)
    with MODEL_LOCK:
        clean_trace, corrupt_trace = _traced_pair(model, report, clean, corrupt)
        return patched_trace(model, clean_trace, corrupt_trace, layer, position, top_k)


def head_patch(ctx: Context, report: Report, clean: str, corrupt: str, target: int, contrast: int):
    """The per-head recovery grid (core.patching.HeadGrid); partial results: PatchStarted
    (no rows), then a PatchRow as each block's row finishes (row 0: block 1)."""
    from spherescope.models.head_patching import head_patch_grid

    model = current_model(ctx, report)
    with MODEL_LOCK:
        clean_trace, corrupt_trace = _traced_pair(model, report, clean, corrupt)
        return head_patch_grid(model, clean_trace, corrupt_trace, target, contrast, cancel=report.cancelled,
                               on_start=lambda grid: report.partial(PatchStarted(grid)),
                               on_row=lambda block, row: report.partial(PatchRow(block, row)))


def patched_head(ctx: Context, report: Report, clean: str, corrupt: str, block: int, head: int, top_k: int):
    """The corrupt prompt's trace with one head's clean output put in at the last position."""
    from spherescope.models.head_patching import patched_head_trace

    model = current_model(ctx, report)
    with MODEL_LOCK:
        clean_trace, corrupt_trace = _traced_pair(model, report, clean, corrupt)
        return patched_head_trace(model, clean_trace, corrupt_trace, block, head, top_k)


def steer_sweep(ctx: Context, report: Report, prompt: str, spec, position: int, alphas=None, mark: bool = True):
    """The dose-response of `spec` (core.patching.SteerCurve) at the followed position:
    `alphas`, or round values out to 3 x |h| at the steering layer of the unsteered run;
    with `mark`, the spec's own α among them and marked."""
    import numpy as np

    from spherescope.core.patching import sweep_alphas
    from spherescope.models.patching import steer_curve
    from spherescope.models.trace import trace_prompt

    model = current_model(ctx, report)
    marked = spec.alpha if mark else None
    with MODEL_LOCK:
        plain = trace_prompt(model, prompt, cancel=report.cancelled)
        pos = position if 0 <= position < len(plain.tokens) else len(plain.tokens) - 1
        scale = float(plain.norms[min(spec.layer, len(plain.norms) - 1), pos])
        values = sweep_alphas(scale, marked, alphas)
        return steer_curve(model, [t.id for t in plain.tokens], spec, np.asarray(values), pos, marked,
                           cancel=report.cancelled)
