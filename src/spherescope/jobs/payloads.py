"""What jobs send back before they finish: one small type per kind of partial result,
so a receiver dispatches on the type (`match`), never on a string in a tuple."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    stage: str
    fraction: float  # 0..1, or -1 when unknown


@dataclass(frozen=True)
class Notice:
    """A warning worth a sentence in the message bar; the job goes on."""

    text: str


@dataclass(frozen=True)
class ModelReady:
    """A load's model is usable: the window draws the cloud before the statistics come."""

    info: Any  # models.loaded.ModelInfo
    vocab: Any  # core.vocab.Vocab
    seconds: float


@dataclass(frozen=True)
class TraceTokens:
    tokens: tuple  # tuple[core.trajectory.Token]


@dataclass(frozen=True)
class TraceFrame:
    layer: int
    residual: Any  # (T, d) float32, every position at this layer
    norms: Any = None  # (T,) float32 lengths of those rows, computed once in the worker


@dataclass(frozen=True)
class PatchPlanned:
    plan: Any  # models.patching.PatchPlan: its cost, known before the first patched run


@dataclass(frozen=True)
class PatchStarted:
    grid: Any  # core.patching.PatchGrid with no rows yet


@dataclass(frozen=True)
class PatchRow:
    layer: int
    row: Any  # (T,) recovery per position


@dataclass(frozen=True)
class FractionDone:
    mode: str
    value: float  # the share of tokens whose round trip returns themselves


@dataclass(frozen=True)
class SetBatch:
    """Prompts of a set traced: they join the bundle on the sphere as they come."""

    traces: tuple  # tuple[core.set_results.PromptTrace]
    done: int  # prompts traced so far
    total: int  # prompts in the set
