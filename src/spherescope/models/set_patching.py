"""Activation patching over a set of clean/corrupt pairs: the recovery of the *mean*
logit difference, (mean patched − mean corrupt) / (mean clean − mean corrupt), for every
layer and position (counted from the end) and, if asked, every head (the IOI paper's
definition; TransformerLens's IOI demo averages the same way).

Each patched run starts at the patched layer: the blocks below it would only recompute
the corrupt run's residual, which the pair's own trace already holds, so they are made
to pass their input through and the corrupt residual is put in at that layer (with the
clean vector at the patched position). That halves the work of a grid on average, and
pairs of one length share each layer's batches. Pairs of different lengths are aligned
from the end: column j is position n − m + j of a pair of n tokens, m the shortest.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from spherescope.core.prompt_set import PromptSet
from spherescope.models.errors import Cancelled, PromptError
from spherescope.models.loaded import LoadedModel

PAIRS_PER_CHUNK = 16  # pairs whose full residuals are held at once (each (L+1) x T x d, twice)
MAX_ROWS = 48  # patched sequences per pass


@dataclass(frozen=True)
class PairItem:
    index: int
    line: int
    clean: tuple  # token ids
    corrupt: tuple
    target: int
    contrast: int


@dataclass(frozen=True)
class SetPatchGrid:
    matrix: np.ndarray  # (L+1, m) recovery of the mean difference; column j = position n − m + j
    clean_diff: np.ndarray  # (N,) each pair's clean logit(target) − logit(contrast)
    corrupt_diff: np.ndarray  # (N,)
    patched: np.ndarray  # (L+1, m) the mean patched difference
    heads_matrix: np.ndarray | None = None  # (L, H) recovery of the mean, each head at the last position

    @property
    def n(self) -> int:
        return len(self.clean_diff)

    @property
    def clean_diff_mean(self) -> float:
        return float(self.clean_diff.mean())

    @property
    def corrupt_diff_mean(self) -> float:
        return float(self.corrupt_diff.mean())


def prepare_pairs(loaded: LoadedModel, prompt_set: PromptSet, target: str | None = None,
                  contrast: str | None = None) -> list[PairItem]:
    """The set's clean/corrupt pairs, each a target and a contrast of one token and two
    prompts of the same length; the whole set refused with one sentence otherwise."""
    from spherescope.models.set_trace import _rows, prepare_set

    name = prompt_set.name
    if not prompt_set.has_pairs:
        raise PromptError(f"The {name} has no 'corrupt' column: patching needs, for each prompt, the corrupt prompt "
                          "its residuals are copied into.")
    items = prepare_set(loaded, prompt_set, -1, target, contrast)
    if any(it.target is None or it.contrast is None for it in items):
        raise PromptError(f"The {name} needs a target and a contrast for every pair (columns target and contrast, "
                          "or --target and --contrast): the recovery is of logit(target) − logit(contrast).")
    corrupt_set = PromptSet(tuple(_as_prompt(r) for r in prompt_set.rows), name)
    corrupt = prepare_set(loaded, corrupt_set, -1)
    unequal = [(it.line, len(it.tokens), len(c.tokens)) for it, c in zip(items, corrupt)
               if len(it.tokens) != len(c.tokens)]
    if unequal:
        line, a, b = unequal[0]
        raise PromptError(f"The {name}'s pairs must have the same number of tokens, clean and corrupt; "
                          f"{_rows([u[0] for u in unequal])} {'does' if len(unequal) == 1 else 'do'} not "
                          f"(row {line}: {a} and {b} tokens).")
    return [PairItem(it.index, it.line, tuple(t.id for t in it.tokens), tuple(t.id for t in c.tokens),
                     it.target, it.contrast) for it, c in zip(items, corrupt)]


def _as_prompt(row):
    from dataclasses import replace

    return replace(row, prompt=row.corrupt, target=None, contrast=None)


@contextmanager
def _from_layer(loaded: LoadedModel, layer: int, hidden: torch.Tensor, block_tuple: bool):
    """While entered, a forward pass starts at `layer`: the blocks below it pass their
    input through, and the residual entering layer `layer` is `hidden` (B, T, d)."""
    blocks = loaded.blocks
    n = len(blocks)

    def skip(*args, **kwargs):
        h = args[0] if args else kwargs["hidden_states"]
        return (h,) if block_tuple else h

    def pre(module, args, kwargs):
        if args:
            return (hidden, *args[1:]), kwargs
        kwargs = dict(kwargs)
        kwargs["hidden_states"] = hidden
        return args, kwargs

    def post(module, args, output):
        return (hidden,) if isinstance(output, tuple) else hidden

    saved = []
    for b in blocks[:layer]:
        saved.append((b, b.__dict__.get("forward")))
        b.forward = skip
    handle = blocks[layer].register_forward_pre_hook(pre, with_kwargs=True) if layer < n else \
        blocks[n - 1].register_forward_hook(post)
    try:
        yield
    finally:
        handle.remove()
        for b, old in saved:
            if old is None:
                del b.forward
            else:
                b.forward = old


class _Full:
    """One pass over many prompts of one length: every layer's residual at every
    position, each block's heads' outputs at the last position, the last logits."""

    def __init__(self, loaded: LoadedModel, heads: bool) -> None:
        self.loaded, self.heads = loaded, heads

    @torch.no_grad()
    def run(self, ids: torch.Tensor):
        from spherescope.models.patching import _last_logits
        from spherescope.models.trace import _ResidualHooks

        loaded = self.loaded
        store: list = [None] * (loaded.info.num_layers + 1)
        kinds: list = []

        class Hooks(_ResidualHooks):
            def emit(self, layer, hidden):
                store[layer] = self.residuals[layer] = hidden.detach().float().cpu().numpy()

        probe = loaded.blocks[0].register_forward_hook(lambda m, a, out: kinds.append(isinstance(out, tuple)))
        zs: list = []
        try:
            with Hooks(loaded, None, None):
                if self.heads:
                    from spherescope.models.head_patching import output_projections

                    projs = output_projections(loaded)
                    zs = [None] * len(projs)
                    hs = [p.register_forward_pre_hook(_keep_z(zs, i)) for i, p in enumerate(projs)]
                    try:
                        logits = _last_logits(loaded, ids)
                    finally:
                        for h in hs:
                            h.remove()
                else:
                    logits = _last_logits(loaded, ids)
        finally:
            probe.remove()
        res = np.stack(store, axis=1)  # (B, L+1, T, d)
        z = np.stack(zs, axis=1) if self.heads else None  # (B, L, width)
        return res, logits.cpu().numpy().astype(np.float64), z, bool(kinds and kinds[0])


def _keep_z(store: list, i: int):
    def pre(module, args):
        t = args[0] if args[0].ndim == 3 else args[0].unsqueeze(0)
        store[i] = t[:, -1].detach().float().cpu().numpy()
    return pre


@torch.no_grad()
def set_patch(loaded: LoadedModel, pairs: list[PairItem], heads: bool = False,
              cancel: Callable[[], bool] | None = None,
              on_progress: Callable[[int, int], None] | None = None) -> SetPatchGrid:
    """The residual grid over the pairs (and the head grid with `heads`)."""
    from spherescope.core.patching import recovery
    from spherescope.models.sublayers import sublayer_spec

    if not pairs:
        raise PromptError("Patching over a set needs at least one pair.")
    if heads:
        sublayer_spec(loaded.model, loaded.blocks)  # a post-norm model is refused with a sentence
    n_layers = loaded.info.num_layers + 1
    m = min(len(p.clean) for p in pairs)
    clean_d = np.zeros(len(pairs))
    corrupt_d = np.zeros(len(pairs))
    sums = np.zeros((n_layers, m))
    head_sums = None
    full = _Full(loaded, heads)
    groups: dict[int, list[int]] = {}
    for k, p in enumerate(pairs):
        groups.setdefault(len(p.clean), []).append(k)
    chunks = [ks[i:i + PAIRS_PER_CHUNK] for ks in groups.values() for i in range(0, len(ks), PAIRS_PER_CHUNK)]
    done = 0
    for ks in chunks:
        T = len(pairs[ks[0]].clean)
        ids = torch.tensor([pairs[k].clean for k in ks] + [pairs[k].corrupt for k in ks])
        ids = ids.to(next(loaded.model.parameters()).device)
        res, logits, z, block_tuple = full.run(ids)
        c = len(ks)
        tgt = np.array([pairs[k].target for k in ks])
        con = np.array([pairs[k].contrast for k in ks])
        rows = np.arange(c)
        cd = logits[rows, tgt] - logits[rows, con]
        kd = logits[c + rows, tgt] - logits[c + rows, con]
        clean_d[ks], corrupt_d[ks] = cd, kd
        grid = _Grid(loaded, ids[c:], res[:c], res[c:], tgt, con, kd, block_tuple, cancel)
        sums += grid.residual(T - m)
        if heads:
            grid.prefix = _Prefix.of(loaded, ids[c:], res[c:], block_tuple)
            hm = grid.heads(z[:c], z[c:])
            head_sums = hm if head_sums is None else head_sums + hm
        done += c
        if on_progress is not None:
            on_progress(done, len(pairs))
    n = len(pairs)
    patched = sums / n
    try:
        matrix = recovery(patched, clean_d.mean(), corrupt_d.mean())
        head_matrix = None if head_sums is None else recovery(head_sums / n, clean_d.mean(), corrupt_d.mean())
    except ValueError as exc:
        raise PromptError(f"Over the set, {exc}") from None
    return SetPatchGrid(np.asarray(matrix), clean_d, corrupt_d, patched, head_matrix)


class _Prefix:
    """The corrupt prompts' keys and values at every position but the last.

    A head patched at the last position changes nothing before it (attention is
    causal), so a patched run need only compute the last position, reading the corrupt
    run's cached keys and values: one token a row instead of T. Used only once a pass
    through the cache has given back the corrupt run's own differences; else None and
    the patched runs compute every position."""

    def __init__(self, loaded, ids, corrupt_res, block_tuple) -> None:
        import inspect

        out = loaded.model(input_ids=ids[:, :-1], attention_mask=torch.ones_like(ids[:, :-1]), use_cache=True)
        # transformers 5 names the cache `cache`; 4.x, `past_key_values`
        self.arg = "cache" if "cache" in inspect.signature(loaded.model.forward).parameters else "past_key_values"
        cache = out.get("cache") if hasattr(out, "get") else None
        self.cache = cache if cache is not None else out.past_key_values
        self.loaded, self.ids, self.res, self.block_tuple = loaded, ids, corrupt_res, block_tuple
        self.dtype = next(loaded.model.parameters()).dtype

    @classmethod
    def of(cls, loaded, ids, corrupt_res, block_tuple):
        if ids.shape[1] < 2:
            return None
        try:
            prefix = cls(loaded, ids, corrupt_res, block_tuple)
            ks = list(range(ids.shape[0]))
            with _from_layer(loaded, 0, prefix.hidden(ks, 0), block_tuple):
                logits = prefix.last_logits(ks)
        except (TypeError, AttributeError, ValueError, RuntimeError, NotImplementedError):
            return None  # an architecture whose cache can't be copied or row-selected
        prefix.check = logits  # compared with the corrupt differences by the grid
        return prefix

    def hidden(self, ks: list[int], layer: int) -> torch.Tensor:
        """(g, 1, d): the corrupt residual entering `layer` at the last position."""
        h = torch.from_numpy(np.ascontiguousarray(self.res[ks, layer, -1:]))
        return h.to(self.ids.device, self.dtype)

    def last_logits(self, ks: list[int]) -> torch.Tensor:
        import copy

        cache = copy.deepcopy(self.cache)  # a pass appends to its cache: each group gets its own copy
        cache.batch_select_indices(torch.tensor(ks, device=self.ids.device))
        last = self.ids[ks, -1:]
        mask = torch.ones((len(ks), self.ids.shape[1]), dtype=last.dtype, device=last.device)
        out = self.loaded.model(input_ids=last, attention_mask=mask, use_cache=True, **{self.arg: cache})
        return out.logits[:, -1].float()


class _Grid:
    """One chunk of pairs of one length: the sum over its pairs of each cell's patched
    logit difference (a cell that changes nothing adds the pair's corrupt difference)."""

    prefix: _Prefix | None = None

    def __init__(self, loaded, corrupt_ids, clean_res, corrupt_res, tgt, con, corrupt_diff, block_tuple, cancel):
        self.loaded, self.ids = loaded, corrupt_ids
        self.clean, self.corrupt = clean_res, corrupt_res  # (c, L+1, T, d)
        self.tgt, self.con, self.kd = tgt, con, corrupt_diff
        self.block_tuple, self.cancel = block_tuple, cancel
        self.dtype = next(loaded.model.parameters()).dtype

    def _usable(self, prefix: _Prefix | None) -> bool:
        """The cached pass reproduces the corrupt differences (float32 within 1e-3)."""
        if prefix is None:
            return False
        lg = prefix.check.cpu().numpy().astype(np.float64)
        r = np.arange(len(self.kd))
        tol = 1e-3 if self.dtype == torch.float32 else 5e-2
        return bool(np.allclose(lg[r, self.tgt] - lg[r, self.con], self.kd, atol=tol, rtol=tol))

    def _diffs(self, layer: int, cells: list[tuple[int, int]], edit, last_only: bool = False) -> np.ndarray:
        """Patched differences of `cells` (pair k, ·), run from `layer` in batches; with
        `last_only`, only the last position, from the cached prefix."""
        from spherescope.models.patching import _last_logits

        out = np.zeros(len(cells))
        size = MAX_ROWS
        for s in range(0, len(cells), size):
            if self.cancel is not None and self.cancel():
                raise Cancelled()
            group = cells[s:s + size]
            ks = [k for k, _ in group]
            if last_only:
                hidden = self.prefix.hidden(ks, layer)
                with edit(group, hidden), _from_layer(self.loaded, layer, hidden, self.block_tuple):
                    logits = self.prefix.last_logits(ks)
            else:
                hidden = torch.from_numpy(np.ascontiguousarray(self.corrupt[ks, layer]))
                with edit(group, hidden):
                    with _from_layer(self.loaded, layer, hidden.to(self.ids.device, self.dtype), self.block_tuple):
                        logits = _last_logits(self.loaded, self.ids[ks])
            lg = logits.cpu().numpy().astype(np.float64)
            r = np.arange(len(group))
            out[s:s + len(group)] = lg[r, self.tgt[ks]] - lg[r, self.con[ks]]
        return out

    def residual(self, first: int) -> np.ndarray:
        """(L+1, T − first) summed over the chunk's pairs; column j is position first + j."""
        n_layers, T = self.clean.shape[1], self.clean.shape[2]
        total = np.zeros((n_layers, T - first))

        @contextmanager
        def put(group, hidden):
            for r, (k, p) in enumerate(group):
                hidden[r, p] = torch.from_numpy(self.clean[k, layer, p])
            yield

        for layer in range(n_layers):
            cells = [(k, p) for k in range(len(self.kd)) for p in range(first, T)
                     if not np.array_equal(self.clean[k, layer, p], self.corrupt[k, layer, p])]
            total[layer] = self.kd.sum()
            if cells:
                diffs = self._diffs(layer, cells, put)
                for (k, p), d in zip(cells, diffs):
                    total[layer, p - first] += d - self.kd[k]
        return total

    def heads(self, zc: np.ndarray, zk: np.ndarray) -> np.ndarray:
        """(L, H) summed over the chunk's pairs: each head's clean output at the last
        position put into the corrupt run."""
        from spherescope.models.head_patching import _n_heads, output_projections

        projs = output_projections(self.loaded)
        n_heads = _n_heads(self.loaded)
        cached = self._usable(self.prefix)
        hd = zc.shape[2] // n_heads
        total = np.zeros((len(projs), n_heads))
        for b in range(len(projs)):
            cells = [(k, h) for k in range(len(self.kd)) for h in range(n_heads)
                     if not np.array_equal(zc[k, b, h * hd:(h + 1) * hd], zk[k, b, h * hd:(h + 1) * hd])]
            total[b] = self.kd.sum()
            if not cells:
                continue

            @contextmanager
            def put(group, hidden, b=b):
                def pre(module, args):
                    z = args[0].clone()
                    for r, (k, h) in enumerate(group):
                        sl = slice(h * hd, (h + 1) * hd)
                        z[r, -1, sl] = torch.from_numpy(zc[k, b, sl]).to(z.dtype)
                    return (z, *args[1:])
                handle = projs[b].register_forward_pre_hook(pre)
                try:
                    yield
                finally:
                    handle.remove()

            diffs = self._diffs(b, cells, put, last_only=cached)  # block b+1 reads layer b: start there
            for (k, h), d in zip(cells, diffs):
                total[b, h] += d - self.kd[k]
        return total
