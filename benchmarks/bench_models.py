"""Precision and model size: how load time, trace time and memory move.

    .venv/bin/python benchmarks/bench_models.py [--repeat 10]

1. The default model (SmolLM2-135M) on CPU in float32 and bfloat16: cached load,
   trace time against a bare forward pass of the same weights (ratio; the trace also
   runs the float32 lens at every layer, which the bare forward does not), peak RSS.
   Each precision runs in its own process so the peaks do not mix.
2. Three random Llama configs from tiny to SmolLM2's size, saved like a user's folder
   and opened through load_model: load and trace time, parameters, header estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ARTICLE = "John and Mary went to the bar. John bought a drink for"

_PRECISION = r"""
import json, resource, statistics, sys, time
import torch
t0 = time.perf_counter()
from spherescope.models.loader import load_model
from spherescope.models.trace import trace_prompt
dtype = None if sys.argv[1] == "float32" else sys.argv[1]
m = load_model(dtype=dtype)
load = time.perf_counter() - t0
prompt, repeat = sys.argv[2], int(sys.argv[3])
trace_prompt(m, prompt)  # warm
ids = torch.tensor([m.tokenizer(prompt)["input_ids"]])
bare, traced = [], []
for _ in range(repeat):
    t = time.perf_counter()
    with torch.no_grad():
        m.model(input_ids=ids, use_cache=False)
    bare.append(time.perf_counter() - t)
    t = time.perf_counter()
    tr = trace_prompt(m, prompt)
    traced.append(time.perf_counter() - t)
print(json.dumps({"load": load, "bare": statistics.median(bare), "trace": statistics.median(traced),
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "next": tr.next_token.text,
                  "p": tr.next_prob, "dtype": m.info.dtype}))
"""

_SIZE = r"""
import json, resource, statistics, sys, time
t0 = time.perf_counter()
import torch
from spherescope.models.loader import load_model
from spherescope.models.summary import summarize
from spherescope.models.trace import trace_prompt
imports = time.perf_counter() - t0
folder, prompt, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = time.perf_counter()
m = load_model(folder)
load = time.perf_counter() - t
trace_prompt(m, prompt)
times = []
for _ in range(repeat):
    t = time.perf_counter()
    trace_prompt(m, prompt)
    times.append(time.perf_counter() - t)
print(json.dumps({"load": load, "trace": statistics.median(times), "params": m.info.parameters,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "estimate": summarize(folder).memory_bytes() / 2**20}))
"""

CONFIGS = {
    "tiny (d=64, L=4, V=8k)": dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                   intermediate_size=192, vocab_size=8192),
    "small (d=256, L=12, V=32k)": dict(hidden_size=256, num_hidden_layers=12, num_attention_heads=8,
                                       num_key_value_heads=4, intermediate_size=768, vocab_size=32768),
    "SmolLM2-size (d=576, L=30, V=49k)": dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                                              num_key_value_heads=3, intermediate_size=1536, vocab_size=49152),
}


def _run(snippet: str, *args: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", snippet, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _save_random_llama(folder: str, cfg: dict) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from transformers.utils import logging as tf_logging

    from tiny_models import tiny_tokenizer

    tf_logging.disable_progress_bar()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(tie_word_embeddings=True, max_position_embeddings=2048, **cfg))
    model.save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer().save_pretrained(folder)  # a 384-token vocabulary: enough to run prompts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    print("## SmolLM2-135M on CPU, float32 vs bfloat16 (each in a fresh process)")
    print("| weights | cached load (incl. imports) | bare forward | trace | trace / bare | peak RSS | next token |")
    print("|---|---|---|---|---|---|---|")
    for dtype in ("float32", "bfloat16"):
        r = _run(_PRECISION, dtype, ARTICLE, str(args.repeat))
        print(f"| {r['dtype']} | {r['load']:.2f} s | {r['bare'] * 1e3:.1f} ms | {r['trace'] * 1e3:.1f} ms | "
              f"{r['trace'] / r['bare']:.2f} | {r['rss']:.0f} MB | {r['next']!r} p={r['p']:.3f} |")

    print()
    print("## Load and trace time against model size (random Llama, float32, opened as a folder)")
    print("| config | parameters | load | trace (13 tokens) | peak RSS | header estimate |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in CONFIGS.items():
            folder = os.path.join(tmp, str(abs(hash(name))))
            _save_random_llama(folder, cfg)
            r = _run(_SIZE, folder, ARTICLE, str(args.repeat))
            print(f"| {name} | {r['params'] / 1e6:.1f}M | {r['load']:.2f} s | {r['trace'] * 1e3:.1f} ms | "
                  f"{r['rss']:.0f} MB | {r['estimate']:.0f} MB |")


if __name__ == "__main__":
    main()
