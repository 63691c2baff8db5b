"""A 262,144-token vocabulary (Gemma 3 270M's shape, d = 640, randomly initialised from
a config, with a word-level tokenizer of that size), against the same model's
command-line trace, in one run:

- time from starting to open the model in the window to its whole cloud on screen,
  against `spherescope trace --model DIR` as a whole process (bar: at most 1.5x);
- orbit frames per second at 1280x800 with the 262k cloud, against a bare
  GLViewWidget drawing the same points (bar: 20 fps or better);
- peak RSS of both processes.

    xvfb-run -a -s "-screen 0 2200x1200x24 +extension GLX" .venv/bin/python benchmarks/bench_large_vocab.py

Building the model takes about a minute and 1.1 GB of disk in a temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

VOCAB = 262_144
PROMPT = " ".join(f"w{i}" for i in (17, 4242, 99, 123456, 7, 250000, 31))

_WINDOW = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[3])
from harness import wait_until
from PySide6.QtCore import QSettings
from spherescope.app import make_app, launch_main_window
app = make_app()
win = launch_main_window(settings=QSettings(sys.argv[2], QSettings.Format.IniFormat), model=sys.argv[1])
win.resize(1280 + 700, 800 + 80)
win.show()
win.start(model=sys.argv[1])
wait = lambda c, t=900: wait_until(app, c, t)
wait(lambda: win.built)
built_s = time.perf_counter() - t0
wait(lambda: win.session.vocab is not None)
vocab_s = time.perf_counter() - t0
view = win.view
# The whole cloud is on screen when the cached static layer holds every chunk of it.
wait(lambda: getattr(view, "_n_chunks", 0) > 1 and view._cache_done >= view._n_chunks)
cloud_s = time.perf_counter() - t0
win.view_container.setFixedSize(1280, 800)
wait(lambda: True)
def frame(change):
    swapped = [False]
    slot = lambda: swapped.__setitem__(0, True)
    view.frameSwapped.connect(slot)
    change(); view.update()
    while not swapped[0]:
        app.processEvents()
    view.frameSwapped.disconnect(slot)
for _ in range(5):
    frame(lambda: view.orbit(3, 0))
t = time.perf_counter()
for _ in range(40):
    frame(lambda: view.orbit(3, 0))
fps = 40 / (time.perf_counter() - t)
import numpy as np, pyqtgraph.opengl as gl
bare = gl.GLViewWidget(); bare.setFixedSize(1280, 800)
pts = win.binding._cloud.points
bare.addItem(gl.GLScatterPlotItem(pos=pts, color=np.ones((len(pts), 4), np.float32) * 0.5, size=2.0, pxMode=True))
bare.show()
wait(lambda: bare.windowHandle() is not None and bare.windowHandle().isExposed())
for _ in range(3):
    frame.__globals__  # (keep the same helper)
def bare_frame():
    swapped = [False]
    slot = lambda: swapped.__setitem__(0, True)
    bare.frameSwapped.connect(slot)
    bare.orbit(3, 0); bare.update()
    while not swapped[0]:
        app.processEvents()
    bare.frameSwapped.disconnect(slot)
for _ in range(3):
    bare_frame()
t = time.perf_counter()
for _ in range(10):
    bare_frame()
bare_fps = 10 / (time.perf_counter() - t)
print(json.dumps({"built_s": built_s, "vocab_s": vocab_s, "cloud_s": cloud_s, "fps": fps, "bare_fps": bare_fps, "points": int(len(pts)),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
os._exit(0)
"""


def build(folder: str) -> None:
    import torch
    import transformers as tf
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
    words.update({f"w{i}": i for i in range(4, VOCAB)})
    tok = Tokenizer(models.WordLevel(words, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", bos_token="<bos>", pad_token="<pad>",
                                   unk_token="<unk>")
    cfg = tf.Gemma3TextConfig(vocab_size=VOCAB, hidden_size=640, num_hidden_layers=18, num_attention_heads=4,
                              num_key_value_heads=1, head_dim=256, intermediate_size=2048,
                              max_position_embeddings=2048, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(cfg)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "gemma3-262k")
        t = time.perf_counter()
        build(folder)
        print(f"built a random {VOCAB:,}-token model (d = 640, 18 layers) in {time.perf_counter() - t:.0f} s")
        ini = os.path.join(tmp, "bench.ini")
        cache = os.path.join(tmp, "cache")
        env["SPHERESCOPE_CACHE"] = cache
        # Once to fill the conversion cache the same way for both, then timed.
        subprocess.run([sys.executable, "-m", "spherescope", "trace", "--model", folder, "--prompt", PROMPT],
                       env=env, check=True, capture_output=True)
        t = time.perf_counter()
        cli = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "spherescope", "trace", "--model",
                              folder, "--prompt", PROMPT], env=env, check=True, capture_output=True, text=True)
        cli_s = time.perf_counter() - t
        cli_rss = int(cli.stderr.strip().splitlines()[-1]) / 1024
        print(f"command-line trace, whole process: {cli_s:.1f} s, peak RSS {cli_rss:.0f} MB")
        out = subprocess.run([sys.executable, "-c", _WINDOW, folder, ini, here], env=env, check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"window: assembled at {r['built_s']:.1f} s, vocabulary in at {r['vocab_s']:.1f} s; "
              f"start to the whole {r['points']:,}-token cloud on screen {r['cloud_s']:.1f} s, "
              f"{r['cloud_s'] / cli_s:.2f}x the command-line trace (bar: <= 1.5x); peak RSS {r['rss_mb']:.0f} MB")
        print(f"orbit at 1280x800: {r['fps']:.1f} fps (bar: >= 20), bare GLViewWidget with the same points "
              f"{r['bare_fps']:.1f} fps (ratio {r['fps'] / r['bare_fps']:.2f})")


if __name__ == "__main__":
    main()
