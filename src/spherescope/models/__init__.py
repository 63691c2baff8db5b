"""Loading and tracing models. Imports no Qt; imports torch/transformers lazily."""

import os as _os

# Quiet, deterministic library behaviour for a desktop app and a CLI: no download
# progress bars or advisory warnings on stderr, no tokenizer thread pools that warn
# after a fork.
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
_os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
