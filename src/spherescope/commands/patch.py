"""`spherescope patch`: activation patching from a clean prompt into a corrupt one, every
layer and position, as a table or JSON."""

from __future__ import annotations

import json

from spherescope.commands.common import EXIT_USAGE, fail, load_model_for
from spherescope.core.atomic import atomic_write_text, check_writable
from spherescope.core.text import quoted, visible


def cmd_patch(args) -> int:
    for flag, text in (("--clean", args.clean), ("--corrupt", args.corrupt), ("--target", args.target),
                       ("--contrast", args.contrast)):
        if text is None:
            return fail(f"patch needs {flag} (or --pairs FILE for a set of pairs)", EXIT_USAGE)
    for flag, text in (("--clean", args.clean), ("--corrupt", args.corrupt)):
        if not text.strip():
            return fail(f"{flag} is empty: give the prompt to patch {'from' if flag == '--clean' else 'into'}.",
                        EXIT_USAGE)
    if args.target == args.contrast:
        return fail("--contrast is the same token as --target: choose a different token to compare with.",
                    EXIT_USAGE)
    if args.out is not None:
        check_writable(args.out, reading=(args.model,))  # before a slow load and grid, not after
    loaded = load_model_for(args)
    data = patch_data(loaded, args.clean, args.corrupt, args.target, args.contrast, ignore_memory=args.ignore_memory,
                      show_progress=True, heads=args.heads)
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False))
        heads = "" if "heads_matrix" not in data else \
            f", and {len(data['heads_matrix'])} blocks x {len(data['heads_matrix'][0])} heads"
        print(f"wrote {args.out}: {len(data['matrix'])} layers x {len(data['matrix'][0])} positions{heads}")
        return 0
    _print_grid(data)
    if "heads_matrix" in data:
        _print_heads(data)
    return 0


PATCH_REFUSE_S = 1800  # a grid estimated to take longer is refused unless --ignore-memory
SHOW_PROGRESS_S = 20.0  # a grid estimated to take longer prints its rows as they finish


def patch_data(loaded, clean_prompt: str, corrupt_prompt: str, target: str, contrast: str, *,
               ignore_memory: bool = False, show_progress: bool = False, heads: bool = False) -> dict:
    """The public JSON of a patching grid: what `patch` writes, and what the Python API
    returns (spherescope.model_api), from this one function."""
    from spherescope.commands.trace import token_ids
    from spherescope.models.errors import PromptError
    from spherescope.models.patching import check_patchable, patch_grid
    from spherescope.models.trace import trace_prompt

    for name, text in (("clean", clean_prompt), ("corrupt", corrupt_prompt)):
        if not text or not text.strip():
            raise PromptError(f"The {name} prompt is empty.")
    target_id, contrast_id = token_ids(loaded, (("--target", target), ("--contrast", contrast)))
    clean = trace_prompt(loaded, clean_prompt)
    corrupt = trace_prompt(loaded, corrupt_prompt)
    check_patchable(clean, corrupt, target_id, contrast_id, loaded.info.vocab_size)
    progress = _Progress(ignore_memory, clean.residuals.shape[0], show_progress)
    grid = patch_grid(loaded, clean, corrupt, target_id, contrast_id, on_plan=progress.plan, on_row=progress.row)
    text = loaded.token_text
    data = {
        "model": loaded.info.name,
        "clean": clean_prompt,
        "corrupt": corrupt_prompt,
        "tokens": [{"id": t.id, "text": t.text} for t in corrupt.tokens],
        "clean_tokens": [{"id": t.id, "text": t.text} for t in clean.tokens],
        "target": {"id": target_id, "text": text(target_id)},
        "contrast": {"id": contrast_id, "text": text(contrast_id)},
        "clean_diff": grid.clean_diff,
        "corrupt_diff": grid.corrupt_diff,
        "layers": "0 is the embeddings, i the residual after block i, the last the residual before the final norm",
        "matrix": [[float(v) for v in row] for row in grid.matrix],
    }
    if heads:
        from spherescope.models.head_patching import head_patch_grid

        hg = head_patch_grid(loaded, clean, corrupt, target_id, contrast_id)
        data["heads"] = "row b-1 is block b; each head's output at the last position patched from clean to corrupt"
        data["heads_matrix"] = [[float(v) for v in row] for row in hg.matrix]
    return data


class _Progress:
    """Refuses, before the first patched run, a grid that would not fit or would take
    hours; says what it will cost, and each row as it finishes, when it takes a while."""

    def __init__(self, ignore_memory: bool, n_layers: int, printing: bool) -> None:
        self.ignore = ignore_memory
        self.n_layers = n_layers
        self.printing = printing
        self.shown = False

    def plan(self, plan) -> None:
        import sys

        from spherescope.models.errors import PromptError

        if not self.ignore and (not plan.fits or plan.seconds > PATCH_REFUSE_S):
            why = "one patched run alone needs more memory than is free" if not plan.fits else "that is too long to wait"
            raise PromptError(f"This patching grid needs {plan.describe()}: {why}. Use shorter prompts, or pass "
                              "--ignore-memory to run it anyway.")
        self.shown = self.printing and plan.seconds > SHOW_PROGRESS_S
        if self.shown:
            print(f"patching: {plan.describe()}", file=sys.stderr, flush=True)

    def row(self, layer: int, _row) -> None:
        import sys

        if self.shown:
            print(f"patching: layer {layer} of {self.n_layers - 1} done", file=sys.stderr, flush=True)


def _print_heads(data: dict, shown: int = 5) -> None:
    """The heads that recover most, by size."""
    import numpy as np

    m = np.asarray(data["heads_matrix"])
    order = np.argsort(-np.abs(m), axis=None)[:shown]
    cells = ", ".join(f"block {b + 1} head {h} {m[b, h]:+.2f}" for b, h in zip(*np.unravel_index(order, m.shape)))
    print(f"heads that recover most (of {m.shape[0]} blocks x {m.shape[1]} heads): {cells}")


def _print_grid(data: dict, what: str | None = None) -> None:
    """`what`: the difference recovered, when it is not one target's and contrast's."""
    if what is None:
        what = f"logit({quoted(data['target']['text'])}) - logit({quoted(data['contrast']['text'])})"
    print(f"model: {data['model']}")
    print(f"recovery of {what} at the last position: clean {data['clean_diff']:+.3f}, "
          f"corrupt {data['corrupt_diff']:+.3f}")
    print("patched: the clean run's residual at (layer, position) put into the corrupt run; 1 = all recovered")
    heads = [visible(tok["text"], 7) for tok in data["tokens"]]
    width = max(6, *(len(h) for h in heads))
    print(f"{'layer':>5}  " + " ".join(f"{h:>{width}}" for h in heads))
    for layer, row in enumerate(data["matrix"]):
        print(f"{layer:>5}  " + " ".join(f"{v:>+{width}.2f}" for v in row))
