"""What every command shares: exit codes and the one-line error."""

from __future__ import annotations

import sys

EXIT_USAGE = 2
EXIT_FAILED = 1


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"spherescope: error: {message}", file=sys.stderr)
    return code


def load_model_for(args):
    """The model a command names, loaded as its flags say; then the load's freed
    temporaries go back to the system (runtime.release_free_memory), so a command's
    peak is the model and its trace, not the load's leftovers."""
    import gc

    from spherescope import runtime
    from spherescope.models.loader import load_model

    loaded = load_model(args.model, device=args.device, dtype=args.dtype, allow_pickle=args.allow_pickle,
                        ignore_memory=args.ignore_memory)
    gc.collect()  # a command has no Qt objects for the collector to free on the wrong thread
    runtime.release_free_memory()
    return loaded
