"""A loaded model with its tokenizer, lens and the facts the views show about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spherescope.models.lens import Lens, find_blocks
from spherescope.models.source import Source


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
    _unembedding: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _embedding: np.ndarray | None = field(default=None, repr=False)
    _vocab_text: list[str] | None = field(default=None, repr=False)

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
        ctx = None
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            v = getattr(text_cfg, attr, None)
            if isinstance(v, int) and v > 0:
                ctx = v
                break
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

    def unembedding(self) -> tuple[np.ndarray, np.ndarray]:
        """(W_eff, bias): token directions as the raw residual sees them (see Lens)."""
        if self._unembedding is None:
            self._unembedding = self.lens.effective_unembedding(self.info.hidden_size)
        return self._unembedding

    def embedding(self) -> np.ndarray:
        if self._embedding is None:
            w = self.model.get_input_embeddings().weight.detach().float().cpu().numpy()
            self._embedding = np.ascontiguousarray(w)
        return self._embedding

    def token_text(self, token_id: int) -> str:
        return self.vocab_text()[token_id] if 0 <= token_id < self.info.vocab_size else f"<{token_id}>"

    def vocab_text(self) -> list[str]:
        """Readable text of every token id, decoded once and kept."""
        if self._vocab_text is None:
            tok = self.tokenizer
            n = self.info.vocab_size
            ids = [[i] for i in range(n)]
            try:
                # One batched call into the fast tokenizer instead of 49k Python calls,
                # and straight to its backend: transformers' batch_decode wrapper gives
                # the same texts 10x slower, holding the GIL for up to 150 ms.
                backend = getattr(tok, "backend_tokenizer", None)
                if backend is not None:
                    texts = list(backend.decode_batch(ids, skip_special_tokens=False))
                else:
                    texts = list(tok.batch_decode(ids, clean_up_tokenization_spaces=False))
            except Exception:
                texts = [f"<{i}>" for i in range(n)]
            self._vocab_text = texts
        return self._vocab_text
