"""`spherescope trace`: the logit lens of a prompt in a terminal, or as JSON."""

from __future__ import annotations

import json

from spherescope.commands.common import EXIT_USAGE, fail, load_model_for
from spherescope.core.atomic import atomic_write_text, check_writable
from spherescope.core.text import quoted
from spherescope.core.trace_json import trace_to_dict


def cmd_trace(args) -> int:
    if args.top_k < 1:
        return fail("--top-k must be at least 1", EXIT_USAGE)
    if not args.prompt.strip():  # the window's rule too: whitespace alone is no prompt
        return fail("The prompt is empty; type some text to trace.", EXIT_USAGE)
    if args.out is not None:
        check_writable(args.out, reading=(args.model,))  # fail before a slow load, not after it (an empty name included)
    if args.remote and args.backend != "nnsight":
        return fail("--remote needs --backend nnsight", EXIT_USAGE)
    if args.contrast is not None and args.attribute is None:
        return fail("--contrast needs --attribute: the token it is compared with", EXIT_USAGE)
    if (args.attribute is not None or args.attention or args.head is not None) and args.backend != "direct":
        return fail("--attribute, --attention and --head need the direct backend: the nnsight backend does not "
                    "record the attention and MLP writes", EXIT_USAGE)
    problem = check_steer_flags(args)
    if problem is not None:
        return fail(problem, EXIT_USAGE)
    if args.backend == "nnsight":
        return cmd_trace_nnsight(args)
    loaded = load_model_for(args)
    steer = None if all(getattr(args, f) is None for f in STEER_FLAGS) else {
        "layer": args.steer_layer, "toward": args.steer_toward, "away": args.steer_away, "alpha": args.steer_alpha,
        "position": args.steer_position}
    data, trace = trace_data(loaded, args.prompt, position=args.position, top_k=args.top_k, tokens=args.tokens,
                             attribute=args.attribute, contrast=args.contrast, steer=steer, attention=args.attention,
                             head=args.head)
    info = loaded.info
    plane = data.get("plane_tokens")
    pair = data.get("attribution")
    if args.out:
        atomic_write_text(args.out, json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False))
        print(f"wrote {args.out}: {len(data['layers'])} layers, next token {quoted(data['next_token']['text'])}")
        return 0
    toks = " ".join(quoted(t.text) for t in trace.tokens)
    print(f"model: {info.name} ({info.architecture}, {info.num_layers} layers, d={info.hidden_size}, vocab {info.vocab_size:,}, {'tied' if info.tied_embeddings else 'untied'})")
    print(f"tokens ({len(trace.tokens)}): {toks}")
    print(f"following position {trace.position}: {quoted(trace.tokens[trace.position].text)}")
    _print_layers(data["layers"], min(args.top_k, 5))
    nt = data["next_token"]
    print(f"next token: {quoted(nt['text'])} (p={nt['prob']:.3f}); |final_norm(h)| = {trace.final_normed_norm:.2f}")
    if "steer" in data:
        st = data["steer"]
        away = f" - {quoted(st['away']['text'])}" if st["away"] else ""
        where = "every position" if st["position"] is None else f"position {st['position']}"
        print(f"steered: {st['alpha']:+g} x unit({quoted(st['toward']['text'])}{away}) added after block {st['layer']} "
              f"at {where}")
    if plane is not None:
        _print_plane(data)
    if pair is not None:
        _print_attribution(data)
    if "head" in data:
        _print_head(data["head"])
    return 0


def _print_head(h: dict) -> None:
    reads = ", ".join(f"{quoted(r['token']['text'])} (position {r['position']}, {r['weight']:.2f})" for r in h["reads"])
    says = ", ".join(f"{quoted(s['text'])} {s['logit']:+.2f}" for s in h["says"])
    lowers = ", ".join(f"{quoted(s['text'])} {s['logit']:+.2f}" for s in h["lowers"])
    print(f"block {h['layer']} head {h['head']} at position {h['position']}: reads {reads}")
    print(f"  writes a vector of length {h['write_norm']:.2f}, raising {says}")
    print(f"  and lowering {lowers}")
    if h["attribution"] is not None:
        print(f"  its term in the attribution: {h['attribution']:+.3f}")


def trace_data(loaded, prompt: str, *, position: int | None = None, top_k: int = 10, tokens: str | None = None,
               attribute: str | None = None, contrast: str | None = None, steer: dict | None = None,
               attention: bool = False, head: str | None = None):
    """(the public JSON of one trace, the Trace): what `trace` prints and writes, and
    what the Python API returns (spherescope.model_api), from this one function.
    `steer`: dict(layer, toward, alpha, away=None, position=None) with token texts.
    `attention`: every head's weights from the followed position, per block; `head`:
    'BLOCK.HEAD', what that head reads, writes and says (core.heads)."""
    from types import SimpleNamespace

    from spherescope.models.errors import PromptError
    from spherescope.models.patching import steering
    from spherescope.models.trace import tokenize, trace_prompt

    if top_k < 1:
        raise PromptError("top_k must be at least 1.")
    if contrast is not None and attribute is None:
        raise PromptError("A contrast needs a target to attribute: give attribute too.")
    flags = None
    if steer is not None:
        flags = SimpleNamespace(steer_layer=steer.get("layer"), steer_toward=steer.get("toward"),
                                steer_away=steer.get("away"), steer_alpha=steer.get("alpha"),
                                steer_position=steer.get("position"), backend="direct")
        problem = check_steer_flags(flags)
        if problem is not None:
            raise PromptError(problem)
    plane = plane_directions(loaded, tokens) if tokens is not None else None
    pair = attribution_pair(loaded, attribute, contrast) if attribute is not None else None
    chosen = _parse_head(head)
    toks = tokenize(loaded, prompt)
    spec = steer_spec(flags, loaded, len(toks)) if flags is not None else None
    with steering(loaded, spec, len(toks)):
        trace = trace_prompt(loaded, prompt, position=position, top_k=top_k, tokens=toks,
                             sublayers=pair is not None or chosen is not None, attention=attention or chosen is not None)
    info = loaded.info
    data = trace_to_dict(trace, model=info.name, hidden_size=info.hidden_size, vocab_size=info.vocab_size,
                         tied=info.tied_embeddings, token_text=loaded.token_text, top_k=top_k)
    if plane is not None:
        add_plane(data, trace.path(), *plane)
    at = None
    if pair is not None:
        from spherescope.models.attribution import attribute_trace

        at = attribute_trace(loaded, trace, trace.position, *pair, steer=spec)
        add_attribution(data, at, loaded.token_text)
    if attention:
        for row, weights in zip(data["layers"][1:], trace.attention):
            row["attention"] = [[round(float(w), 6) for w in head_row] for head_row in weights]
    if chosen is not None:
        from spherescope.models.heads import head_view

        add_head(data, head_view(loaded, trace, *chosen, attribution=at), trace.tokens, loaded.token_text)
    if spec is not None:
        data["steer"] = steer_json(spec, loaded.token_text)
    return data, trace


def steer_json(spec, text) -> dict:
    return {
        "layer": spec.layer, "toward": {"id": spec.toward, "text": text(spec.toward)},
        "away": None if spec.away is None else {"id": spec.away, "text": text(spec.away)},
        "alpha": spec.alpha, "position": spec.position,
        "direction": "unit vector of the effective unembedding row of toward" + (
            " minus that of away" if spec.away is not None else "") + " (final norm gain folded in)",
        "added_to": "the residual after block layer (0: the embeddings), at every position"
                    if spec.position is None else "the residual after block layer, at position",
    }


def _parse_head(head: str | None):
    if head is None:
        return None
    from spherescope.core.heads import parse_head
    from spherescope.models.errors import PromptError

    try:
        return parse_head(head)
    except ValueError as exc:
        raise PromptError(str(exc)) from None


def add_head(data: dict, hv, tokens, token_text) -> None:
    """The public JSON of one head (README): what it reads, what it writes and says."""
    data["head"] = {
        "layer": hv.layer, "head": hv.head, "position": hv.position,
        "reads": [{"position": p, "token": {"id": tokens[p].id, "text": tokens[p].text}, "weight": w}
                  for p, w in hv.reads(3)],
        "attention": [round(float(w), 6) for w in hv.weights],
        "write_norm": hv.norm,
        "says": [{"id": i, "text": token_text(i), "logit": v} for i, v in hv.says],
        "lowers": [{"id": i, "text": token_text(i), "logit": v} for i, v in hv.lowers],
        "attribution": hv.dla,
    }


def token_ids(loaded, flags) -> list[int | None]:
    """The token id of each (flag, text), None where text is None; each must be one
    token as the tokenizer encodes it (models.token_lookup)."""
    from spherescope.models.token_lookup import resolve_token

    return [None if text is None else resolve_token(loaded, text, flag) for flag, text in flags]


def attribution_pair(loaded, target: str, contrast: str | None) -> tuple[int, int | None]:
    """The token ids of --attribute and --contrast, each one token of the vocabulary."""
    from spherescope.models.attribution import check_pair

    ids = token_ids(loaded, (("--attribute", target), ("--contrast", contrast)))
    check_pair(loaded, ids[0], ids[1])
    return ids[0], ids[1]


STEER_FLAGS = ("steer_layer", "steer_toward", "steer_away", "steer_alpha", "steer_position")


def steer_spec(args, loaded, n_tokens: int):
    """The --steer-* flags as a SteerSpec (None without them), checked against the model."""
    from spherescope.core.patching import SteerSpec
    from spherescope.models.errors import PromptError

    if all(getattr(args, f) is None for f in STEER_FLAGS):
        return None
    toward, away = token_ids(loaded, (("--steer-toward", args.steer_toward), ("--steer-away", args.steer_away)))
    spec = SteerSpec(args.steer_layer, toward, away, float(args.steer_alpha), args.steer_position)
    try:
        spec.check(loaded.info.num_layers, loaded.info.vocab_size, n_tokens)
    except ValueError as exc:
        raise PromptError(str(exc)) from None
    return spec


def check_steer_flags(args) -> str | None:
    """What is missing or wrong in the --steer-* flags, before any load (None: fine)."""
    import math

    given = [f for f in STEER_FLAGS if getattr(args, f) is not None]
    if not given:
        return None
    for flag in ("steer_layer", "steer_toward", "steer_alpha"):
        if getattr(args, flag) is None:
            return f"steering needs --{flag.replace('_', '-')} (with --steer-layer, --steer-toward and --steer-alpha)"
    if not math.isfinite(args.steer_alpha):
        return "--steer-alpha must be a finite number"
    if args.steer_layer < 0:
        return "--steer-layer must be 0 (the embeddings) or more"
    if args.steer_away is not None and args.steer_away == args.steer_toward:
        return "--steer-away is the same token as --steer-toward: there is no direction between them"
    if args.backend != "direct":
        return "steering needs the direct backend"
    return None


def add_attribution(data: dict, at, token_text) -> None:
    """The public JSON's attribution (README): per block, each write's length and its term."""
    data["attribution"] = {
        "target": {"id": at.target, "text": token_text(at.target)},
        "contrast": None if at.contrast is None else {"id": at.contrast, "text": token_text(at.contrast)},
        "logit_diff": at.logit_diff, "embed": at.embed, "bias": at.bias, "scale": at.scale,
        **({"steer": {"dla": at.steer}} if at.steer is not None else {}),
        "layers": [
            {"layer": i + 1,
             "attn": {"norm": float(at.attn_norm[i]), "dla": float(at.attn[i]),
                      **({"heads": [float(h) for h in at.heads[i]]} if at.heads is not None else {})},
             "mlp": {"norm": float(at.mlp_norm[i]), "dla": float(at.mlp[i])}}
            for i in range(len(at.attn))
        ],
    }


def _print_attribution(data: dict) -> None:
    a = data["attribution"]
    what = f"logit({quoted(a['target']['text'])})" + (f" - logit({quoted(a['contrast']['text'])})" if a["contrast"] else "")
    steer = f", steering vector {a['steer']['dla']:+.3f}" if "steer" in a else ""
    print(f"direct logit attribution of {what} = {a['logit_diff']:+.3f} (embedding {a['embed']:+.3f}, "
          f"bias {a['bias']:+.3f}{steer}, final norm scale {a['scale']:.2f}):")
    print(f"{'block':>5}  {'attention':>9}  {'MLP':>7}")
    for row in a["layers"]:
        print(f"{row['layer']:>5}  {row['attn']['dla']:>+9.3f}  {row['mlp']['dla']:>+7.3f}")


def plane_directions(loaded, text: str) -> tuple[list[tuple[int, str]], object, object]:
    """The two tokens of --tokens and their directions as the sphere draws them: the
    centred effective unembedding rows. ValueError-free: a bad choice is a PromptError."""
    import numpy as np

    from spherescope.core.plane import plane_axes
    from spherescope.core.unit_rows import scaled_mean
    from spherescope.core.vocab import parse_tokens
    from spherescope.models.errors import PromptError
    from spherescope.models.token_lookup import TokenTable

    table = TokenTable(loaded)
    texts = table.texts
    try:
        ids = parse_tokens(table, text, count=2, what="--tokens")
        u, gain, _bias = loaded.head_factors()
        mean = scaled_mean(u, gain).astype(np.float64)
        first, second = (np.asarray(row, np.float64) - mean for row in loaded.unembedding_rows(ids))
        plane_axes(first, second)  # a token with no direction, or two parallel ones, is refused here
    except ValueError as exc:
        raise PromptError(str(exc)) from None
    return [(i, texts[i]) for i in ids], first, second


def add_plane(data: dict, path, tokens, first, second) -> None:
    """The public JSON's plane: the tokens at the top level, and each layer's
    coordinates along the two orthonormal axes with the share of |h| they keep."""
    from spherescope.core.plane import plane_path

    p = plane_path(path, first, second)
    data["plane_tokens"] = [{"id": int(i), "text": t} for i, t in tokens]
    for row, x, y, kept, cos in zip(data["layers"], p.x, p.y, p.kept, p.cos_first):
        row["plane"] = {"x": float(x), "y": float(y), "kept": float(kept), "cos": float(cos)}


def _print_plane(data: dict) -> None:
    a, b = (quoted(t["text"]) for t in data["plane_tokens"])
    print(f"in the plane of {a} (x) and {b} (y, orthogonal to {a}):")
    print(f"angle: within the plane; true angle: between h itself and {a} (cos = x / |h|); kept: the share of |h| "
          "in the plane")
    print(f"{'layer':>5}  {'x':>9}  {'y':>9}  {'angle':>6}  {'true angle':>10}  kept")
    import math

    for row in data["layers"]:
        pl = row["plane"]
        true = math.degrees(math.acos(max(-1.0, min(1.0, pl["cos"]))))
        print(f"{row['layer']:>5}  {pl['x']:>9.2f}  {pl['y']:>9.2f}  {math.degrees(math.atan2(pl['y'], pl['x'])):>5.1f}°  "
              f"{true:>9.1f}°  {100 * pl['kept']:.0f}%")


def cmd_trace_nnsight(args) -> int:
    """The trace through nnsight: locally on any model spherescope loads, or on NDIF.
    Prints (or writes) what came back: norms and the lens at every layer."""
    from spherescope.models import nnsight_backend as nb

    if args.remote:
        from spherescope.models.source import resolve

        src = resolve(args.model)
        if src.kind != "hub":
            return fail("--remote runs a model NDIF hosts: give its hub id with --model (e.g. meta-llama/Llama-3.1-70B)", EXIT_USAGE)
        if not nb.configure_api_key(None):
            return fail("--remote needs an NDIF API key: set NDIF_API_KEY (get one at https://login.ndif.us)", EXIT_USAGE)
        lm = nb.wrap(src.ref)
        name, text = src.ref, None
    else:
        loaded = load_model_for(args)
        lm = nb.wrap(loaded.model, loaded.tokenizer)
        name, text = loaded.info.name, loaded.token_text
    rt = nb.trace_nnsight(lm, args.prompt, position=args.position, top_k=args.top_k, remote=args.remote, token_text=text)
    text = text or (lambda i: lm.tokenizer.decode([i]))
    layers = [
        {"layer": layer, "norm": float(rt.norms[layer, rt.position]),
         "top": [{"id": int(i), "text": text(int(i)), "prob": float(p)} for i, p in zip(top.ids, top.probs)]}
        for layer, top in enumerate(rt.lens)
    ]
    if args.out:
        data = {"model": name, "backend": "nnsight", "remote": rt.remote, "position": rt.position,
                "tokens": [{"id": t.id, "text": t.text} for t in rt.tokens], "layers": layers}
        atomic_write_text(args.out, json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False))
        print(f"wrote {args.out}: {len(layers)} layers via nnsight{' on NDIF' if rt.remote else ''}")
        return 0
    print(f"model: {name} via nnsight ({'remote, NDIF' if rt.remote else 'local'})")
    print(f"following position {rt.position}: {quoted(rt.tokens[rt.position].text)}")
    _print_layers(layers, 5)
    return 0


def _print_layers(layers: list[dict], shown: int) -> None:
    """One row per layer: its norm and the lens's first `shown` tokens, as both trace
    backends print them."""
    print(f"{'layer':>5}  {'|h|':>9}  top tokens by logit lens (probability)")
    for row in layers:
        tops = "  ".join(f"{quoted(t['text'])} {t['prob']:.3f}" for t in row["top"][:shown])
        print(f"{row['layer']:>5}  {row['norm']:>9.2f}  {tops}")
