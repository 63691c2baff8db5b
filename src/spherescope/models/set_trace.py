"""Tracing a prompt set: padded batches, one forward pass each, streamed prompt by prompt.

Prompts of a batch are padded to its longest. With right padding (the default) every
real token sits where it sits alone and, attention being causal, never sees the
padding; with left padding the positions are given explicitly (the mask's running
count), so both give each prompt the numbers of its own single run. Only the followed
position of each prompt is kept from the pass (its residual at every layer, its
blocks' writes, its logits: the head is applied to that position alone), so memory
grows with the batch, not with the set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from spherescope.core.prompt_set import PromptSet
from spherescope.core.set_results import PromptTrace
from spherescope.core.trajectory import Token
from spherescope.models.errors import Cancelled, ModelError, PromptError
from spherescope.models.attribution import final_norm_scales
from spherescope.models.loaded import LoadedModel
from spherescope.models.trace import _ResidualHooks, _tops_from_logits, check_finite, tokenize

MAX_BATCH_ROWS = 32
MAX_BATCH_TOKENS = 2048  # rows x padded length per pass: CPU matmuls gain little beyond this
CHUNK = 256  # prompts sorted by length together (and results held back) at most
LENS_PROMPTS = 8  # prompts whose lens is one product: (8 x 31, V) float32 logits, 49 MB for SmolLM2


@dataclass(frozen=True)
class SetItem:
    """One prompt of a set, ready to run: its tokens, followed position and token ids."""

    index: int
    line: int
    prompt: str
    tokens: tuple[Token, ...]
    position: int
    target: int | None = None
    contrast: int | None = None


def _rows(lines: list[int]) -> str:
    from spherescope.core.prompt_set import _where

    return _where(lines)


def prepare_set(loaded: LoadedModel, prompt_set: PromptSet, position: int = -1, target: str | None = None,
                contrast: str | None = None) -> list[SetItem]:
    """Tokenize every prompt and resolve every target and contrast, refusing the whole set
    with one sentence (naming the rows) when any is wrong. `position`: the followed
    position, from the start (0, 1, …: every prompt must have it) or from the end (-1:
    the last). `target`, `contrast`: for rows that give none."""
    from spherescope.models.token_lookup import TokenTable

    table = TokenTable(loaded)
    ids: dict[str, int | None] = {}

    def token(text: str | None) -> int | None:
        if text is None:
            return None
        if text not in ids:
            ids[text] = table.token_id(text)
        return ids[text]

    items: list[SetItem] = []
    too_long: list[int] = []
    empty: list[int] = []
    short: list[int] = []
    for k, row in enumerate(prompt_set.rows):
        try:
            toks = tokenize(loaded, row.prompt)
        except PromptError as exc:
            (too_long if "reads at most" in str(exc) else empty).append(row.line)
            continue
        n = len(toks)
        if not -n <= position < n:
            short.append(row.line)
            continue
        items.append(SetItem(k, row.line, row.prompt, toks, position % n))
    name = prompt_set.name
    ctx = loaded.info.context_length
    if too_long:
        raise PromptError(f"The {name} has prompts longer than {loaded.info.name}'s context of {ctx:,} tokens in "
                          f"{_rows(too_long)}: shorten them (they are refused, not truncated).")
    if empty:
        raise PromptError(f"The {name} has prompts that make no tokens in {_rows(empty)}: give them visible text.")
    if short:
        raise PromptError(f"The {name} has prompts too short to follow position {position} in {_rows(short)}: "
                          "follow a position from the end (-1 is the last), or drop them.")
    rows = prompt_set.rows
    out: list[SetItem] = []
    for it in items:
        row = rows[it.index]
        t_text = row.target if row.target is not None else target
        c_text = row.contrast if row.target is not None else contrast
        for what, text in (("target", t_text), ("contrast", c_text)):
            if text is not None and token(text) is None:
                raise PromptError(f"The {name}'s {what} in row {row.line}: {table.why_not(text)} A {what} must be "
                                  "one token.")
        t_id, c_id = token(t_text), token(c_text)
        if c_id is not None and c_id == t_id:
            raise PromptError(f"The {name}'s contrast in row {row.line} is its target itself: give another token.")
        out.append(SetItem(it.index, it.line, it.prompt, it.tokens, it.position, t_id, c_id))
    return out


def batch_rows(loaded: LoadedModel, length: int) -> int:
    """Prompts per pass at this padded length: what the memory allows, at most
    MAX_BATCH_ROWS and MAX_BATCH_TOKENS tokens."""
    from spherescope.models.devices import available_memory
    from spherescope.models.patching import bytes_per_run

    free = available_memory(loaded.info.device)
    budget = int((free if free is not None else 4 << 30) * 0.25)
    rows = budget // max(bytes_per_run(loaded, length), 1)
    return int(max(1, min(MAX_BATCH_ROWS, MAX_BATCH_TOKENS // max(length, 1), rows)))


def iter_set_traces(loaded: LoadedModel, items: list[SetItem], *, top_k: int = 5, attribution: bool = True,
                    padding: str = "right", cancel: Callable[[], bool] | None = None,
                    on_progress: Callable[[int, int], None] | None = None,
                    rows: int | None = None) -> Iterator[PromptTrace]:
    """Each prompt's PromptTrace, in the set's order. Prompts are run in chunks of CHUNK,
    sorted by length inside a chunk so a batch pads little. `attribution` records the
    blocks' writes for rows with a target (and splits the attention by head where the
    architecture allows). `rows`: prompts per pass (default: batch_rows)."""
    if padding not in ("right", "left"):
        raise ValueError("padding is 'right' or 'left'")
    runner = _BatchRunner(loaded, top_k, attribution, padding, cancel)
    done = 0
    for start in range(0, len(items), CHUNK):
        chunk = sorted(items[start:start + CHUNK], key=lambda it: len(it.tokens))
        results: list[PromptTrace] = []
        while chunk:
            size = rows or batch_rows(loaded, len(chunk[-1].tokens))
            # the longest first: a batch's padded length is its last item's
            batch, chunk = chunk[-size:], chunk[:-size]
            results += runner.run(batch)
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(items))
        yield from sorted(results, key=lambda t: t.index)


def pad_id(loaded: LoadedModel) -> int:
    tok = loaded.tokenizer
    return int(getattr(tok, "pad_token_id", None) or getattr(tok, "eos_token_id", None) or 0)


def padded(batch: list[SetItem], padding: str, pad: int, device) -> tuple[dict, torch.Tensor]:
    """(the model's keyword arguments, each row's followed column) for a padded batch:
    the attention mask, and with left padding the positions each token has alone."""
    B, T = len(batch), max(len(it.tokens) for it in batch)
    ids = torch.full((B, T), pad, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    cols = torch.zeros(B, dtype=torch.long)
    for r, it in enumerate(batch):
        n = len(it.tokens)
        start = 0 if padding == "right" else T - n
        ids[r, start:start + n] = torch.tensor([t.id for t in it.tokens])
        mask[r, start:start + n] = 1
        cols[r] = start + it.position
    kwargs = dict(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False)
    if padding == "left":
        kwargs["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0).to(device)
    return kwargs, cols


class _GatherHooks(_ResidualHooks):
    """The residual at every layer, at one position of each batch row."""

    def __init__(self, loaded: LoadedModel, cols: torch.Tensor, cancel) -> None:
        super().__init__(loaded, None, cancel)
        self.cols = cols

    def emit(self, layer: int, hidden: torch.Tensor) -> None:
        self.check_cancel()
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        self.residuals[layer] = hidden[rows, self.cols.to(hidden.device)].detach().float().cpu().numpy()


class _HeadAt:
    """A pre-hook on the output embedding: the head reads each row's followed position
    only ((B, 1, V) logits instead of (B, T, V): 96 MB for 32 prompts of 15 tokens)."""

    def __init__(self, head, cols: torch.Tensor) -> None:
        self.head, self.cols, self.handle = head, cols, None

    def _pre(self, module, args):
        x = args[0]
        if x.ndim != 3 or x.shape[1] == 1:
            return None
        rows = torch.arange(x.shape[0], device=x.device)
        return (x[rows, self.cols.to(x.device)][:, None], *args[1:])

    def __enter__(self):
        if self.head is not None:
            self.handle = self.head.register_forward_pre_hook(self._pre)
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.remove()


class _BatchRunner:
    def __init__(self, loaded: LoadedModel, top_k: int, attribution: bool, padding: str, cancel) -> None:
        self.loaded, self.top_k, self.padding, self.cancel = loaded, top_k, padding, cancel
        self.spec = self.head_w = None
        if attribution:
            from spherescope.models.sublayers import sublayer_spec

            self.spec = sublayer_spec(loaded.model, loaded.blocks)
            if self.spec.out_proj is not None:  # read once for the set, not once a prompt
                self.head_w = [self.spec.head_weight(i) for i in range(len(self.spec.attn))]
        tok = loaded.tokenizer
        self._mean = None  # the vocabulary's mean direction, read at the first plane
        self.pad = int(getattr(tok, "pad_token_id", None) or getattr(tok, "eos_token_id", None) or 0)
        self.device = next(loaded.model.parameters()).device

    @torch.no_grad()
    def run(self, batch: list[SetItem]) -> list[PromptTrace]:
        if self.cancel is not None and self.cancel():
            raise Cancelled()
        B = len(batch)
        kwargs, cols = padded(batch, self.padding, self.pad, self.device)
        want = self.spec is not None and any(it.target is not None for it in batch)
        hooks = _GatherHooks(self.loaded, cols, self.cancel)
        recorder = None
        if want:
            from spherescope.models.sublayers import SublayerRecorder

            recorder = SublayerRecorder(self.spec, cols)
        try:
            if recorder is not None:
                recorder.__enter__()
            with hooks, _HeadAt(self.loaded.model.get_output_embeddings(), cols):
                out = self.loaded.model(**kwargs)
        finally:
            if recorder is not None:
                recorder.__exit__(None, None, None)
        hooks.check_cancel()
        logits = out.logits
        logits = (logits[:, 0] if logits.shape[1] == 1 else logits[torch.arange(B), cols]).float()
        paths = np.ascontiguousarray(hooks.stacked().transpose(1, 0, 2))  # (B, L+1, d)
        for r, it in enumerate(batch):
            try:
                check_finite(paths[r], logits[r].cpu().numpy())
            except ModelError as exc:  # name the prompt it came from
                raise ModelError(f"Row {it.line}: {exc}") from None
        scales = final_norm_scales(self.loaded, paths[:, -1]) if recorder is not None else None
        out_traces = []
        for start in range(0, B, LENS_PROMPTS):
            # The lens of a few prompts in one product with the unembedding: one pass over
            # its V x d rows for 8 x 31 residuals, not one a prompt.
            chunk = paths[start:start + LENS_PROMPTS]
            lens = self.loaded.lens.logits(torch.from_numpy(chunk.reshape(-1, chunk.shape[-1])))
            lens = lens.view(len(chunk), chunk.shape[1], -1)
            for j in range(len(chunk)):
                r = start + j
                out_traces.append(self._one(batch[r], paths[r], logits[r], lens[j], recorder, r,
                                            None if scales is None else scales[r]))
        return out_traces

    def _one(self, it: SetItem, path: np.ndarray, logits: torch.Tensor, lens_logits: torch.Tensor, recorder, r: int,
             scale) -> PromptTrace:
        loaded = self.loaded
        lens = _tops_from_logits(lens_logits, self.top_k)
        probs = torch.softmax(logits, dim=-1)
        nid = int(torch.argmax(logits))
        final_diff = lens_diff = at = None
        if it.target is not None:
            other = logits[it.contrast] if it.contrast is not None else 0.0
            final_diff = float(logits[it.target] - other)
            lo = lens_logits[:, it.contrast] if it.contrast is not None else 0.0
            lens_diff = (lens_logits[:, it.target] - lo).cpu().numpy().astype(np.float64)
            if recorder is not None:
                at = self._attribute(it, path, recorder, r, scale)
        return PromptTrace(it.index, it.prompt, it.tokens, it.position, path, lens, Token(nid, loaded.token_text(nid)),
                           float(probs[nid]), it.target, it.contrast, final_diff, lens_diff, at, *self._plane(it, path))

    def _plane(self, it: SetItem, path: np.ndarray):
        """The prompt in its own plane of target and contrast, their directions centred as
        the sphere and `trace --tokens` draw them (None without a contrast, or for a pair
        that spans no plane)."""
        from spherescope.core.set_results import plane_of

        if it.target is None or it.contrast is None:
            return None, None
        if self._mean is None:
            from spherescope.core.unit_rows import scaled_mean

            u, g, _b = self.loaded.head_factors()
            self._mean = scaled_mean(u, g).astype(np.float64)
        first, second = (np.asarray(r, np.float64) - self._mean
                         for r in self.loaded.unembedding_rows([it.target, it.contrast]))
        try:
            return plane_of(path, first, second)
        except ValueError:
            return None, None

    def _attribute(self, it: SetItem, path: np.ndarray, recorder, r: int, scaled):
        from spherescope.core.attribution import attribute
        from spherescope.models.attribution import pair_terms

        scale, precap, b = scaled
        direction, bias, logit_diff = pair_terms(self.loaded, it.target, it.contrast, precap, b)
        attn = np.stack([a[r] for a in recorder.attn])
        mlp = np.stack([m[r] for m in recorder.mlp])
        heads = head_bias = None
        if self.head_w is not None:
            n_heads = self.spec.n_heads
            per = []
            for (w, hb), z in zip(self.head_w, recorder.z):
                hd = w.shape[1] // n_heads
                zh = z[r].reshape(n_heads, hd)
                per.append((np.einsum("hk,dhk->hd", zh, w.reshape(w.shape[0], n_heads, hd)),
                            hb if hb is not None else np.zeros(w.shape[0], np.float32)))
            heads = np.stack([h for h, _ in per])
            head_bias = np.stack([hb for _, hb in per])
        return attribute(path[0], attn, mlp, direction, scale, bias, logit_diff, it.target, it.contrast,
                         it.position, heads, head_bias)
