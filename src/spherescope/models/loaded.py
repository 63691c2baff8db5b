"""A loaded model with its tokenizer, lens and the facts the views show about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spherescope.models.lens import Lens, find_blocks
from spherescope.models.source import Source


def context_length(config) -> int | None:
    """The most tokens the model reads, as its (text) config says; None when it does not."""
    text_cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(text_cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    architecture: str
    num_layers: int
    hidden_size: int
    vocab_size: int
    tied_embeddings: bool
    parameters: int
    dtype: str
    device: str
    context_length: int | None


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    source: Source
    lens: Lens
    blocks: Any
    info: ModelInfo
    _head: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = field(default=None, repr=False)
    _embedding: np.ndarray | None = field(default=None, repr=False)
    _vocab_text: list[str] | None = field(default=None, repr=False)
    _few_texts: dict = field(default_factory=dict, repr=False)
    derived: dict = field(default_factory=dict, repr=False)  # tables other modules derive once per model

    @classmethod
    def wrap(cls, model, tokenizer, source: Source) -> "LoadedModel":
        cfg = model.config
        text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        blocks = find_blocks(model)
        lens = Lens.for_model(model)
        head = model.get_output_embeddings()
        emb = model.get_input_embeddings()
        tied = bool(head is not None and emb is not None and head.weight.data_ptr() == emb.weight.data_ptr())
        p = next(model.parameters())
        ctx = context_length(cfg)
        tmax = getattr(tokenizer, "model_max_length", None)
        if ctx is None and isinstance(tmax, int) and 0 < tmax < 10**7:
            ctx = tmax
        info = ModelInfo(
            name=source.label,
            architecture=getattr(cfg, "model_type", type(model).__name__),
            num_layers=len(blocks),
            hidden_size=int(text_cfg.hidden_size),  # the residual width (OPT-350m embeds narrower)
            vocab_size=int(head.weight.shape[0]),
            tied_embeddings=tied,
            parameters=sum(q.numel() for q in model.parameters()),
            dtype=str(p.dtype).replace("torch.", ""),
            device=str(p.device),
            context_length=ctx,
        )
        return cls(model, tokenizer, source, lens, blocks, info)

    def head_factors(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(U, g, bias) with the effective unembedding W_eff = U * g (U itself when g is
        None): token directions as the raw residual sees them (see Lens). U shares the
        head's memory where it can, so keeping this costs nothing."""
        if self._head is None:
            self._head = self.lens.effective_factors(self.info.hidden_size)
        return self._head

    def unembedding(self) -> tuple[np.ndarray, np.ndarray]:
        """(W_eff, bias) as one new V x d array, for the few callers that need all of it
        at once; not kept (it would double the head's memory)."""
        u, g, b = self.head_factors()
        return (u * g if g is not None else u), b

    def unembedding_rows(self, ids) -> np.ndarray:
        """(k, d) float32 rows of W_eff for the given token ids."""
        u, g, _b = self.head_factors()
        rows = np.asarray(u[np.asarray(ids, np.int64)], np.float32)
        return rows * g if g is not None else rows.copy()

    def embedding(self) -> np.ndarray:
        if self._embedding is None:
            w = self.model.get_input_embeddings().weight.detach().float().cpu().numpy()
            self._embedding = np.ascontiguousarray(w)
        return self._embedding

    def token_text(self, token_id: int) -> str:
        if not 0 <= token_id < self.info.vocab_size:
            return f"<{token_id}>"
        if self._vocab_text is not None:
            return self._vocab_text[token_id]
        # A command's trace names a few hundred tokens at most: decoding them one by one
        # spares it the whole vocabulary's texts (49k strings, 11 MB and ~0.1 s for
        # SmolLM2), which only the window needs. Same backend call, same text.
        text = self._few_texts.get(token_id)
        if text is None:
            text = self._few_texts[token_id] = self._decode_one(token_id)
        return text

    def vocab_text(self) -> list[str]:
        """Readable text of every token id, decoded once and kept."""
        if self._vocab_text is None:
            self._vocab_text = self._decode([[i] for i in range(self.info.vocab_size)])
            self._few_texts = {}
        return self._vocab_text

    def _decode_one(self, token_id: int) -> str:
        """One token's text as decode_batch gives it, without the batch call (which
        starts the tokenizer's thread pool: ~10 MB a command does not need)."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        try:
            if backend is not None:
                return backend.decode([token_id], skip_special_tokens=False)
        except Exception:
            return f"<{token_id}>"
        return self._decode([[token_id]])[0]

    def _decode(self, ids: list[list[int]]) -> list[str]:
        tok = self.tokenizer
        try:
            # One batched call into the fast tokenizer instead of 49k Python calls, and
            # straight to its backend: transformers' batch_decode wrapper gives the same
            # texts 10x slower, holding the GIL for a visible pause.
            backend = getattr(tok, "backend_tokenizer", None)
            if backend is not None:
                return list(backend.decode_batch(ids, skip_special_tokens=False))
            return list(tok.batch_decode(ids, clean_up_tokenization_spaces=False))
        except Exception:
            return [f"<{i[0]}>" for i in ids]
