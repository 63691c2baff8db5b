"""Plain frozen records that carry a trace from the model layer to the views."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Token:
    id: int
    text: str


@dataclass(frozen=True)
class LensTop:
    """The logit lens at one layer for one position: top-k ids, their probabilities and logits."""

    ids: np.ndarray  # (k,) int64
    probs: np.ndarray  # (k,) float32
    logits: np.ndarray  # (k,) float32
    entropy: float


@dataclass(frozen=True)
class LayerFrame:
    """What one layer adds to a trace, emitted as soon as the layer is computed.

    It carries no lens: reading the whole unembedding once per layer would make a
    trace 3-4x slower than one batched lens at the end, so the lens arrives with the
    finished Trace (about a tenth of a second later on the default model).
    """

    layer: int
    residual: np.ndarray  # (T, d) float32, every position
    norms: np.ndarray  # (T,) float32


@dataclass(frozen=True)
class Sublayers:
    """What each block wrote to the residual stream: its attention write and its MLP write
    (the vectors added), at every position or, for a very long prompt, the followed one."""

    attn: np.ndarray  # (L, T', d) float32
    mlp: np.ndarray  # (L, T', d) float32
    positions: tuple[int, ...]  # the T' positions covered, in order
    parallel: bool  # both writes read the block's input (GPT-NeoX, Phi-1/2); else the MLP reads after attention
    z: np.ndarray | None = None  # (L, T', heads * head_dim) input of the attention's output projection

    def index(self, position: int) -> int | None:
        try:
            return self.positions.index(position)
        except ValueError:
            return None


@dataclass(frozen=True)
class Trace:
    """A whole trace: residuals for layers 0..L and positions 0..T-1, plus the lens."""

    model_name: str
    tokens: tuple[Token, ...]
    position: int
    residuals: np.ndarray  # (L+1, T, d) float32
    lens: tuple[LensTop, ...]  # L+1 entries, at `position`
    final_normed_norm: float  # |final_norm(h_L)| at `position`, for the before/after readout
    next_token: Token
    next_prob: float
    model_logits: np.ndarray  # (V,) float32 at `position`: the model's own output
    sublayers: Sublayers | None = None  # recorded when asked for (trace_prompt(sublayers=True))
    attention: np.ndarray | None = None  # (L, H, T) each block's heads' weights from `position`, when asked for

    @property
    def num_layers(self) -> int:
        return self.residuals.shape[0] - 1

    @property
    def norms(self) -> np.ndarray:
        """(L+1, T) residual lengths."""
        return np.linalg.norm(self.residuals, axis=2)

    def path(self, position: int | None = None) -> np.ndarray:
        """(L+1, d) residuals of one position across layers."""
        return self.residuals[:, self.position if position is None else position]
