"""The job protocol: every kind of model work is a plain function run off the GUI thread.

A job is `fn(ctx, report, *args) -> result`:
- `ctx` (Context) is what the jobs of one worker share: the loaded model, the last
  finished trace and per-model caches. Only the worker thread touches it.
- `report` (Report) sends partial results (`report.partial(x)`) and progress, and
  says whether the job is still wanted (`report.cancelled()`, or `report.check()`,
  which raises Cancelled). A newer request of the same kind, or of a kind the job
  depends on, makes it unwanted: the latest request wins.
- returning `Again(*args)` asks to be run again later with new arguments, after
  whatever else is queued: long background work (the round-trip count) is cut into
  such steps so that a Run or a load asked for meanwhile goes first.

Nothing here imports Qt: the runner that moves jobs to a thread (workers.py) is the
only Qt part, which keeps every job testable without a window (tests/jobs/).
"""

from __future__ import annotations

import enum
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spherescope.core.atomic import WriteError
from spherescope.models.errors import Cancelled, SpherescopeError

# One lock serialises all model work: trace hooks are attached to the modules, so two
# threads (two windows' workers, or a worker and a script) must never run one model at once.
MODEL_LOCK = threading.RLock()


class JobKind(str, enum.Enum):
    """Kinds of model work. The latest request of each kind wins."""

    WARM = "warm"  # start-up: parse the coming model's tokenizer, import torch
    LOAD = "load"
    TRACE = "trace"
    LENS = "lens"  # the lens of another followed position, from the finished trace
    LESSONS = "lessons"  # per-layer numbers of the lesson views for one position
    ROUNDTRIP = "roundtrip"  # one token's embed -> unembed scores
    SPLIT = "split"  # how a text the vocabulary lacks splits, and the closest single token
    ATTRIBUTE = "attribute"  # the blocks' attention and MLP writes, and their direct logit attribution
    COMPARE = "compare"  # a second prompt's trace, drawn beside the first
    PATCH = "patch"  # activation patching: every (layer, position) of a clean run into a corrupt one
    PATCHED = "patched"  # one patched run (a residual or a head), to draw on the sphere
    HEAD_PATCH = "head_patch"  # per-head patching: every (block, head) at the last position
    RAW = "raw"  # the vocabulary's uncentred directions, when the cloud is shown uncentred
    FRACTIONS = "fractions"  # how many tokens' round trips return themselves
    STEER_SWEEP = "steer_sweep"  # the model's answer at each α of one steering direction
    HEAD = "head"  # one attention head at the followed position: what it reads, writes and says
    SET = "set"  # a prompt set traced in batches, a step of prompts at a time
    SET_PATCH = "set_patch"  # patching over a set's clean/corrupt pairs
    SET_STEER = "set_steer"  # steering's dose-response over a set


@dataclass
class Context:
    """What the jobs of one worker share. Written only by jobs, in the worker thread."""

    model: Any = None  # models.loaded.LoadedModel
    model_job: int = -1  # the LOAD job that produced `model`
    trace: Any = None  # core.trajectory.Trace, the last one finished
    trace_job: int = -1
    trace_steer: Any = None  # the SteerSpec `trace` was run with (None: not steered)
    caches: dict = field(default_factory=dict)  # per-model derived data (cleared on load)

    def cache(self, key, make: Callable[[], Any]):
        if key not in self.caches:
            self.caches[key] = make()
        return self.caches[key]


class Report:
    """Handed to a running job: its channel back to the requester."""

    def __init__(self, job: int, stale: Callable[[], bool], partial: Callable[[Any], None],
                 deps: dict | None = None) -> None:
        self.job = job
        self.deps = dict(deps or {})  # the job ids of the kinds it depends on, when asked
        self._stale = stale
        self._partial = partial

    def cancelled(self) -> bool:
        return self._stale()

    def check(self) -> None:
        if self._stale():
            raise Cancelled()

    def partial(self, payload: Any) -> None:
        self._partial(payload)

    def progress(self, stage: str, fraction: float | None) -> None:
        """A payloads.Progress partial result (fraction -1 when unknown)."""
        from spherescope.jobs.payloads import Progress

        self._partial(Progress(stage, -1.0 if fraction is None else float(fraction)))


@dataclass(frozen=True)
class Again:
    """Returned by a job that wants to continue later with these arguments."""

    args: tuple = ()

    def __init__(self, *args) -> None:
        object.__setattr__(self, "args", args)


def run_job(fn: Callable, ctx: Context, report: Report, args: tuple) -> tuple[str, Any]:
    """Run one job step and classify the outcome: ("done", result), ("again", Again),
    ("cancelled", None) or ("failed", sentence). A job never kills its worker."""
    try:
        result = fn(ctx, report, *args)
    except Cancelled:
        return "cancelled", None
    except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence
        return "failed", describe_error(exc)
    if isinstance(result, Again):
        return "again", result
    return "done", result


def describe_error(exc: BaseException) -> str:
    """One sentence a person can act on. Our own errors already are one; anything
    else is named as unexpected, and its traceback goes to stderr for a bug report."""
    if isinstance(exc, (SpherescopeError, WriteError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: try a shorter prompt or a smaller model."
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    traceback.print_exception(exc)
    return f"Unexpected {type(exc).__name__}: {first}"


def inline_report(on_partial: Callable[[Any], None] | None = None) -> Report:
    """A Report for calling a job directly in this thread (the command line, tests):
    never cancelled; partial results go to `on_partial` or nowhere."""
    return Report(0, lambda: False, on_partial or (lambda payload: None))
