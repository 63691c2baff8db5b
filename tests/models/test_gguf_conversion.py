"""The first-launch conversion of the embedded GGUF, into a fresh cache: real progress,
a sound cache entry, and a cancel that leaves nothing half-built."""

import pytest

from spherescope.models import cache
from spherescope.models.errors import Cancelled
from spherescope.models.cache import gguf_cache_key as _gguf_cache_key
from spherescope.models.loader import load_model
from spherescope.models.source import embedded_gguf

pytestmark = pytest.mark.real_model


def test_cold_conversion_reports_progress_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("SPHERESCOPE_CACHE", str(tmp_path))
    seen = []
    loaded = load_model(progress=lambda stage, frac: seen.append((stage, frac)))
    converting = [f for stage, f in seen if stage.startswith("Converting") and f is not None]
    assert len(converting) > 20, "the conversion reports many steps, not one busy state"
    assert converting == sorted(converting) and converting[-1] > 0.8
    assert loaded.info.num_layers == 30
    assert cache.is_valid(tmp_path / _gguf_cache_key(embedded_gguf()))


def test_cancelled_conversion_leaves_no_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("SPHERESCOPE_CACHE", str(tmp_path))
    steps = []

    def progress(stage, frac):
        steps.append(frac)

    with pytest.raises(Cancelled):
        load_model(progress=progress, cancel=lambda: len(steps) > 5)
    assert list(tmp_path.iterdir()) == []
