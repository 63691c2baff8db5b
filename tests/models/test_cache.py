import pytest

from spherescope.models import cache


def _builder(calls):
    def build(tmp):
        calls.append(tmp)
        (tmp / "weights.bin").write_bytes(bytes(range(256)) * 5000)
        (tmp / "config.json").write_text("{}")

    return build


def test_builds_once_then_reuses(tmp_path):
    calls = []
    d1, built1 = cache.get_or_build("k", _builder(calls), root=tmp_path)
    d2, built2 = cache.get_or_build("k", _builder(calls), root=tmp_path)
    assert (built1, built2) == (True, False) and d1 == d2 and len(calls) == 1
    assert cache.is_valid(d1)


@pytest.mark.parametrize("damage", ["truncate", "rewrite", "manifest", "delete"])
def test_damaged_entry_is_rebuilt_never_used(tmp_path, damage):
    calls = []
    d, _ = cache.get_or_build("k", _builder(calls), root=tmp_path)
    w = d / "weights.bin"
    if damage == "truncate":
        w.write_bytes(w.read_bytes()[:1000])
    elif damage == "rewrite":
        w.write_bytes(b"\0" * w.stat().st_size)
    elif damage == "manifest":
        (d / cache.MANIFEST).unlink()
    else:
        (d / "config.json").unlink()
    assert not cache.is_valid(d)
    d2, built = cache.get_or_build("k", _builder(calls), root=tmp_path)
    assert built and len(calls) == 2 and cache.is_valid(d2)


def test_failed_build_leaves_nothing(tmp_path):
    def bad(tmp):
        (tmp / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        cache.get_or_build("k", bad, root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cache_root_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPHERESCOPE_CACHE", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("SPHERESCOPE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache.cache_root() == tmp_path / "x" / "spherescope"


@pytest.mark.parametrize("size, where", [(4096, 0.5), (1 << 20, 0.37), (1, 0.9)])
def test_a_flip_anywhere_is_caught_not_only_in_sampled_chunks(tmp_path, size, where):
    """Every byte is checksummed: a flipped region between the old sampled chunks gave
    NaN residuals before (issue: the cache gave silently wrong answers)."""
    calls = []

    def build(tmp):
        calls.append(tmp)
        (tmp / "model.safetensors").write_bytes(bytes(range(256)) * (12 * 4096))  # 12 MiB

    d, _ = cache.get_or_build("k", build, root=tmp_path)
    w = d / "model.safetensors"
    data = bytearray(w.read_bytes())
    start = int(len(data) * where)
    data[start:start + size] = bytes(255 - b for b in data[start:start + size])
    w.write_bytes(bytes(data))
    assert not cache.is_valid(d)
    d2, built = cache.get_or_build("k", build, root=tmp_path)
    assert built and len(calls) == 2 and cache.is_valid(d2)


def test_an_entry_replaced_by_a_file_is_rebuilt(tmp_path):
    calls = []
    d, _ = cache.get_or_build("k", _builder(calls), root=tmp_path)
    import shutil

    shutil.rmtree(d)
    d.write_text("not a folder")
    d2, built = cache.get_or_build("k", _builder(calls), root=tmp_path)
    assert built and d2.is_dir() and cache.is_valid(d2)


def test_an_unusable_cache_folder_falls_back_to_a_temporary_one(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setattr(cache, "fallback_warning", None)
    monkeypatch.setattr(cache.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    calls = []
    d, built = cache.get_or_build("k", _builder(calls), root=blocker / "cache")
    assert built and d.parent == tmp_path / "tmp" / f"spherescope-cache-{cache.os.getuid()}"
    assert "cannot be used" in cache.fallback_warning and str(blocker / "cache") in cache.fallback_warning


def test_building_folders_left_by_a_killed_process_are_swept(tmp_path):
    import os
    import time

    stale = tmp_path / ".k.abc123"
    stale.mkdir()
    (stale / "half.safetensors").write_bytes(b"x" * 100)
    old = time.time() - 2 * cache.STALE_BUILD_S
    os.utime(stale, (old, old))
    fresh = tmp_path / ".k.def456"  # another process building right now
    fresh.mkdir()
    cache.get_or_build("k", _builder([]), root=tmp_path)
    assert not stale.exists() and fresh.exists()
