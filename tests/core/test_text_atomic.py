import os

import pytest

from spherescope.core.atomic import WriteError, atomic_write_text
from spherescope.core.text import quoted, visible


def test_visible_shows_spaces_and_controls():
    assert visible(" The") == "␣The"
    assert visible("a\nb\t\x07") == "a↵b⇥\\x07"
    assert visible("") == "∅"
    assert visible("x" * 100, limit=10).endswith("…")
    assert quoted(" Mary") == "' Mary'"


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "out.json"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [f.name for f in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_refuses_unwritable_places(tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        atomic_write_text(tmp_path / "missing" / "x.json", "x")
    with pytest.raises(WriteError, match="directory"):
        atomic_write_text(tmp_path, "x")
    # Even root cannot create files in /proc: the write fails and leaves nothing behind.
    with pytest.raises(WriteError, match="Cannot write"):
        atomic_write_text("/proc/spherescope-test.json", "x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(WriteError, match="not writable"):
            atomic_write_text(ro / "x.json", "x")
    finally:
        ro.chmod(0o700)
