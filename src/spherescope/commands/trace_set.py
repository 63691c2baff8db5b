"""`spherescope trace --prompts FILE` and `patch --pairs FILE`: a prompt set's figures,
printed or written as JSON (the public contract in the README).

The set's JSON is streamed: each prompt's own trace is written as soon as its batch is
done and forgotten, only its numbers are kept for the set's figures, so a thousand
prompts take the memory of one batch.
"""

from __future__ import annotations

import json
import sys
import tempfile

import numpy as np

from spherescope.core.set_results import PromptTrace, interval, summarize
from spherescope.core.text import counted


def read_set(path: str):
    """The set at `path`, or a PromptError with the reader's sentence."""
    from spherescope.core.prompt_set import SetError, read_prompt_set
    from spherescope.models.errors import PromptError

    try:
        return read_prompt_set(path)
    except SetError as exc:
        raise PromptError(str(exc)) from None


def slim(t: PromptTrace) -> PromptTrace:
    """A prompt's numbers without its directions (its path reduced to the lengths) and
    without its lens: what the set's figures need once the prompt is written."""
    from dataclasses import replace

    return replace(t, path=t.norms[:, None].astype(np.float32), lens=())


def prompt_json(t: PromptTrace, line: int, token_text, top_k: int) -> dict:
    """One prompt's own trace, in the single trace's words (layers with norm and top
    tokens) plus its differences and attribution."""
    from spherescope.commands.trace import add_attribution

    norms = t.norms
    layers = []
    for layer, top in enumerate(t.lens):
        row = {"layer": layer, "norm": float(norms[layer]),
               "top": [{"id": int(i), "text": token_text(int(i)), "prob": float(p), "logit": float(lg)}
                       for i, p, lg in list(zip(top.ids, top.probs, top.logits))[:top_k]]}
        if t.lens_diff is not None:
            row["lens_diff"] = float(t.lens_diff[layer])
        if t.plane is not None:
            row["plane"] = {"angle": float(t.plane[0, layer]), "kept": float(t.plane[1, layer])}
        layers.append(row)
    data = {
        "index": t.index, "line": line, "prompt": t.prompt,
        "tokens": [{"id": tok.id, "text": tok.text} for tok in t.tokens],
        "position": t.position,
        "target": None if t.target is None else {"id": t.target, "text": token_text(t.target)},
        "contrast": None if t.contrast is None else {"id": t.contrast, "text": token_text(t.contrast)},
        "final_diff": t.final_diff, "correct": t.correct, "plane_apart": t.plane_apart,
        "next_token": {"id": t.next_token.id, "text": t.next_token.text, "prob": t.next_prob},
        "layers": layers,
    }
    if t.attribution is not None:
        add_attribution(data, t.attribution, token_text)
    return data


def set_json(summary, model: str) -> dict:
    """The set's figures (README): means and quartiles over its prompts."""
    s = summary
    norm_mean = s.norms.mean(axis=0)
    layers = []
    for layer in range(s.norms.shape[1]):
        row = {"layer": layer, "norm_mean": float(norm_mean[layer])}
        if s.lens_diff is not None:
            q25, _med, q75 = (float(q[layer]) for q in s.lens_quartiles())
            row.update(lens_diff_mean=float(s.lens_diff[:, layer].mean()), lens_diff_q25=q25, lens_diff_q75=q75)
        if s.plane_angle is not None:
            a25, a50, a75 = np.percentile(s.plane_angle[:, layer], [25, 50, 75])
            k25, k50, k75 = np.percentile(s.plane_kept[:, layer], [25, 50, 75])
            row.update(plane_angle_median=float(a50), plane_angle_q25=float(a25), plane_angle_q75=float(a75),
                       plane_kept_median=float(k50), plane_kept_q25=float(k25), plane_kept_q75=float(k75))
        layers.append(row)
    data = {"model": model, "n": s.n, "accuracy": s.accuracy, "final_diff_mean": s.final_diff_mean, "layers": layers,
            "plane_apart_median": None if s.plane_apart is None else float(np.median(s.plane_apart)),
            "attribution": None}
    if s.has_attribution:
        a_lo, a_hi = interval(s.attn)
        m_lo, m_hi = interval(s.mlp)
        att = {"embed": float(s.embed.mean()),
               "interval": "95% interval of the mean (1.96 standard errors)",
               "layers": [{"layer": i + 1, "attn": float(s.attn[:, i].mean()), "mlp": float(s.mlp[:, i].mean()),
                           "attn_interval": [float(a_lo[i]), float(a_hi[i])],
                           "mlp_interval": [float(m_lo[i]), float(m_hi[i])]}
                          for i in range(s.attn.shape[1])]}
        if s.heads is not None:
            h_lo, h_hi = interval(s.heads)
            for i, row in enumerate(att["layers"]):
                row["heads"] = [float(v) for v in s.heads[:, i].mean(axis=0)]
                row["heads_interval"] = [[float(lo), float(hi)] for lo, hi in zip(h_lo[i], h_hi[i])]
        data["attribution"] = att
    return data


def trace_set(loaded, prompt_set, *, position: int = -1, top_k: int = 5, target: str | None = None,
              contrast: str | None = None, attribution: bool = True, on_prompt=None, on_progress=None,
              cancel=None):
    """(the set's summary, the prepared items): every prompt traced in batches, each
    handed to `on_prompt(trace, line)` as it is done."""
    from spherescope.models.set_trace import iter_set_traces, prepare_set

    items = prepare_set(loaded, prompt_set, position, target, contrast)
    lines = {it.index: it.line for it in items}
    kept = []
    for t in iter_set_traces(loaded, items, top_k=top_k, attribution=attribution, cancel=cancel,
                             on_progress=on_progress):
        if on_prompt is not None:
            on_prompt(t, lines[t.index])
        kept.append(slim(t))
    return summarize(kept), items


def cmd_trace_set(args) -> int:
    """`trace --prompts FILE`: the flags that work on one prompt only are refused first."""
    from spherescope.commands.common import EXIT_USAGE, fail
    from spherescope.commands.trace import STEER_FLAGS

    if args.top_k < 1:
        return fail("--top-k must be at least 1", EXIT_USAGE)
    if args.contrast is not None and args.attribute is None:
        return fail("--contrast needs --attribute: the token it is compared with", EXIT_USAGE)
    unsupported = [flag for flag, on in (("--attention", args.attention), ("--head", args.head is not None),
                                         ("--tokens", args.tokens is not None), ("--remote", args.remote),
                                         ("--backend nnsight", args.backend != "direct"),
                                         ("--steer-*", any(getattr(args, f) is not None for f in STEER_FLAGS)))
                   if on]
    if unsupported:
        return fail(f"{', '.join(unsupported)} work{'s' if len(unsupported) == 1 else ''} on one --prompt, not on a "
                    "--prompts set", EXIT_USAGE)
    return _trace_set_command(args)


def _trace_set_command(args) -> int:
    from spherescope.commands.common import load_model_for
    from spherescope.core.atomic import atomic_stream, check_writable

    if args.out is not None:
        check_writable(args.out, reading=(args.model, args.prompts))
    prompt_set = read_set(args.prompts)  # before the load: a bad set costs no wait
    loaded = load_model_for(args)
    text = loaded.token_text
    top_k = args.top_k
    progress = _Progress(len(prompt_set))
    position = -1 if args.position is None else args.position
    if args.out is None:
        summary, _ = trace_set(loaded, prompt_set, position=position, top_k=top_k, target=args.attribute,
                               contrast=args.contrast, on_progress=progress)
        _print_set(set_json(summary, loaded.info.name), prompt_set.name)
        return 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        def write(t, line):
            if spool.tell():
                spool.write(",\n")
            spool.write(json.dumps(prompt_json(t, line, text, top_k), ensure_ascii=False, allow_nan=False))

        summary, _ = trace_set(loaded, prompt_set, position=position, top_k=top_k, target=args.attribute,
                               contrast=args.contrast, on_prompt=write, on_progress=progress)
        spool.seek(0)
        with atomic_stream(args.out) as f:
            f.write('{"set": ' + json.dumps(set_json(summary, loaded.info.name), ensure_ascii=False, allow_nan=False)
                    + ',\n"prompts": [\n')
            while chunk := spool.read(1 << 20):
                f.write(chunk)
            f.write("\n]}\n")
    acc = "" if summary.accuracy is None else f", accuracy {summary.accuracy:.0%}"
    print(f"wrote {args.out}: {counted(summary.n, 'prompt')}{acc}")
    return 0


class _Progress:
    """Prints 'traced k of n' to stderr now and then for a set that takes a while."""

    def __init__(self, total: int) -> None:
        self.total, self.shown = total, 0

    def __call__(self, done: int, total: int) -> None:
        if total >= 200 and (done - self.shown >= 100 or done == total):
            self.shown = done
            print(f"traced {done:,} of {total:,} prompts", file=sys.stderr, flush=True)


def _print_set(data: dict, name: str) -> None:
    print(f"model: {data['model']}; {name}: {counted(data['n'], 'prompt')}")
    if data["accuracy"] is not None:
        print(f"accuracy {data['accuracy']:.1%} (target above contrast); mean final logit difference "
              f"{data['final_diff_mean']:+.3f}")
        print(f"{'layer':>5}  {'|h| mean':>9}  {'lens diff mean':>14}  {'q25':>7}  {'q75':>7}")
        for row in data["layers"]:
            print(f"{row['layer']:>5}  {row['norm_mean']:>9.2f}  {row['lens_diff_mean']:>+14.3f}  "
                  f"{row['lens_diff_q25']:>+7.2f}  {row['lens_diff_q75']:>+7.2f}")
    else:
        print(f"{'layer':>5}  {'|h| mean':>9}")
        for row in data["layers"]:
            print(f"{row['layer']:>5}  {row['norm_mean']:>9.2f}")
    att = data["attribution"]
    if att is not None:
        print(f"direct logit attribution, mean over the set (embedding {att['embed']:+.3f}); 95% interval:")
        print(f"{'block':>5}  {'attention':>20}  {'MLP':>20}")
        for row in att["layers"]:
            a, m = row["attn_interval"], row["mlp_interval"]
            print(f"{row['layer']:>5}  {row['attn']:>+7.3f} [{a[0]:+.2f}, {a[1]:+.2f}]  "
                  f"{row['mlp']:>+7.3f} [{m[0]:+.2f}, {m[1]:+.2f}]")


def pairs_json(grid, model: str, name: str, m_tokens) -> dict:
    """The public JSON of `patch --pairs` (README)."""
    data = {
        "model": model, "set": name, "n": grid.n,
        "clean_diff_mean": grid.clean_diff_mean, "corrupt_diff_mean": grid.corrupt_diff_mean,
        "positions": "counted from the end: column j is position n - m + j of a pair of n tokens, m the shortest",
        "layers": "0 is the embeddings, i the residual after block i, the last the residual before the final norm",
        "recovery": "(mean patched - mean corrupt) / (mean clean - mean corrupt) of logit(target) - logit(contrast)",
        "matrix": [[float(v) for v in row] for row in grid.matrix],
    }
    if m_tokens is not None:
        data["tokens"] = m_tokens
    if grid.heads_matrix is not None:
        data["heads"] = "row b-1 is block b; each head's output at the last position patched from clean to corrupt"
        data["heads_matrix"] = [[float(v) for v in row] for row in grid.heads_matrix]
    return data


def patch_pairs_data(loaded, prompt_set, *, target: str | None = None, contrast: str | None = None,
                     heads: bool = False, on_progress=None, cancel=None) -> dict:
    from spherescope.models.set_patching import prepare_pairs, set_patch

    pairs = prepare_pairs(loaded, prompt_set, target, contrast)
    grid = set_patch(loaded, pairs, heads=heads, on_progress=on_progress, cancel=cancel)
    m = grid.matrix.shape[1]
    tokens = None
    if len({p.corrupt[-m:] for p in pairs}) == 1:  # one template: the columns have names
        tokens = [{"id": i, "text": loaded.token_text(i)} for i in pairs[0].corrupt[-m:]]
    return pairs_json(grid, loaded.info.name, prompt_set.name, tokens)


def cmd_patch_pairs(args) -> int:
    """`patch --pairs FILE`."""
    from spherescope.commands.common import EXIT_USAGE, fail

    if args.clean is not None or args.corrupt is not None:
        return fail("--pairs takes its clean and corrupt prompts from the file: leave out --clean and --corrupt",
                    EXIT_USAGE)
    if args.target is not None and args.target == args.contrast:
        return fail("--contrast is the same token as --target: choose a different token to compare with.", EXIT_USAGE)
    return _patch_pairs_command(args)


def _patch_pairs_command(args) -> int:
    from spherescope.commands.common import load_model_for
    from spherescope.commands.patch import _print_grid, _print_heads
    from spherescope.core.atomic import atomic_write_text, check_writable

    if args.out is not None:
        check_writable(args.out, reading=(args.model, args.pairs))
    prompt_set = read_set(args.pairs)
    loaded = load_model_for(args)

    def progress(done, total):
        if total >= 8:
            print(f"patched {done} of {total} pairs", file=sys.stderr, flush=True)

    data = patch_pairs_data(loaded, prompt_set, target=args.target, contrast=args.contrast, heads=args.heads,
                            on_progress=progress)
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False))
        print(f"wrote {args.out}: {counted(data['n'], 'pair')}, {len(data['matrix'])} layers x {len(data['matrix'][0])} positions")
        return 0
    shown = dict(data, clean_diff=data["clean_diff_mean"], corrupt_diff=data["corrupt_diff_mean"],
                 tokens=data.get("tokens") or [{"text": f"-{len(data['matrix'][0]) - j}"}
                                               for j in range(len(data["matrix"][0]))])
    print(f"{prompt_set.name}: {counted(data['n'], 'pair')}; positions counted from the end")
    _print_grid(shown, "the mean logit(target) - logit(contrast)")
    if "heads_matrix" in data:
        _print_heads(data)
    return 0

