"""Load and trace figures for the default model.

    .venv/bin/python benchmarks/bench_trace.py [--cold] [--repeat 20]

--cold converts the GGUF into a fresh temporary cache (about 15 s) to time the first launch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ARTICLE = "John and Mary went to the bar. John bought a drink for"

_LOAD_SNIPPET = """
import time, resource, sys
t0 = time.perf_counter()
from spherescope.models.loader import load_model
from spherescope.models.trace import trace_prompt
m = load_model()
t1 = time.perf_counter()
trace_prompt(m, {prompt!r})
t2 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}}")
"""


def load_in_subprocess(cache: str | None) -> tuple[float, float, float]:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if cache:
        env["SPHERESCOPE_CACHE"] = cache
    out = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET.format(prompt=ARTICLE)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def verify_cache() -> None:
    """The cached copy's full-content check, run on every load, against reading the same
    bytes and doing nothing with them (both from the page cache, as on a warm launch)."""
    from spherescope.models.cache import gguf_cache_dir, is_valid
    from spherescope.models.source import embedded_gguf

    entry = gguf_cache_dir(embedded_gguf())
    files = [p for p in entry.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)

    def bare_read() -> None:
        buf = bytearray(8 << 20)
        for p in files:
            with open(p, "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass

    def check() -> None:
        assert is_valid(entry)

    tb = statistics.median(timed(bare_read) for _ in range(5))
    tv = statistics.median(timed(check) for _ in range(5))
    print(f"cache verification (XXH3-128 of all {size / 1e6:.0f} MB, every load): {tv:.3f} s; reading the same "
          f"bytes: {tb:.3f} s; ratio {tv / tb:.2f}")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    if args.cold:
        with tempfile.TemporaryDirectory() as tmp:
            load, _, rss = load_in_subprocess(tmp)
            print(f"cold load (GGUF conversion + save + load, incl. imports): {load:.2f} s, peak RSS {rss:.0f} MB")
    loads = [load_in_subprocess(None) for _ in range(3)]
    print(f"cached load incl. torch/transformers import: median {statistics.median(x[0] for x in loads):.2f} s")
    print(f"first trace in a fresh process: median {statistics.median(x[1] for x in loads):.3f} s")
    print(f"peak RSS, load + one trace: {max(x[2] for x in loads):.0f} MB (target <= 900 MB; the float32 weights "
          f"file alone is ~515 MB of it, imports of torch and transformers ~340 MB)")

    verify_cache()

    import torch

    from spherescope.models.loader import load_model
    from spherescope.models.trace import trace_prompt

    m = load_model()
    ids = torch.tensor([m.tokenizer(ARTICLE)["input_ids"]])

    @torch.no_grad()
    def bare() -> None:
        # The baseline: one forward pass with hidden states, then the lens (final norm,
        # head, softmax, top-k) at the last position for every layer.
        out = m.model(ids, output_hidden_states=True, use_cache=False)
        hs = torch.stack([h[0, -1] for h in out.hidden_states[:-1]])
        logits = m.lens.logits(hs)
        torch.topk(torch.softmax(logits, -1), 10)
        torch.topk(torch.softmax(out.logits[0, -1], -1), 10)

    def ours() -> None:
        trace_prompt(m, ARTICLE, top_k=10)

    def with_sublayers() -> None:
        trace_prompt(m, ARTICLE, top_k=10, sublayers=True)

    def attribution() -> None:
        from spherescope.models.attribution import attribute_trace

        tr = trace_prompt(m, ARTICLE, top_k=10, sublayers=True)
        attribute_trace(m, tr, tr.position, 5099, 2322)

    for f in (bare, ours, with_sublayers, attribution):
        f()  # warm-up
    tb, to, ts, ta = [], [], [], []
    for _ in range(args.repeat):
        for f, out in ((bare, tb), (ours, to), (with_sublayers, ts), (attribution, ta)):
            t = time.perf_counter()
            f()
            out.append(time.perf_counter() - t)
    mb, mo, ms, ma = (statistics.median(x) for x in (tb, to, ts, ta))
    print(f"bare forward + lens: median {mb * 1000:.1f} ms")
    print(f"spherescope trace (all positions' residuals, streamed lens): median {mo * 1000:.1f} ms")
    print(f"ratio trace / bare: {mo / mb:.2f} (target <= 1.2)")
    print(f"trace with sublayers (attention and MLP writes, head inputs): median {ms * 1000:.1f} ms; "
          f"ratio to a plain trace {ms / mo:.2f} (target <= 1.3)")
    print(f"trace with sublayers + direct logit attribution with heads: median {ma * 1000:.1f} ms; "
          f"ratio to a plain trace {ma / mo:.2f}")


if __name__ == "__main__":
    main()
