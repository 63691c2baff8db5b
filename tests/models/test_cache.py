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
