import os
import sys
from pathlib import Path

import spherescope  # noqa: F401  (first: it configures BLAS threads before numpy loads)

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

# Window fixtures (window, make_window, settings) and helpers shared by the GUI tests.
pytest_plugins = ["gui_support"]


def pytest_configure(config):
    # Before pytest-qt creates the QApplication: shared GL contexts, as the app sets them.
    try:
        from spherescope.app import configure_qt
    except ImportError:  # Qt absent: the Qt-free layers are still testable
        return
    configure_qt()


@pytest.fixture(scope="session")
def real_model():
    """The embedded SmolLM2-135M, loaded once per test session (from the converted cache)."""
    from spherescope.models.loader import load_model

    return load_model()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny llama saved like a user's local model directory."""
    from tiny_models import save_tiny

    return save_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama")


@pytest.fixture(scope="session")
def tiny_loaded(tiny_dir):
    from spherescope.models.loader import load_model

    return load_model(str(tiny_dir))
