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


def test_writes_refuse_devices_and_pipes_and_go_through_symlinks(tmp_path):
    import os

    from spherescope.core.atomic import WriteError, atomic_write_text

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="not a regular file"):
        atomic_write_text(fifo, "x")
    assert fifo.is_fifo()
    with pytest.raises(WriteError, match="not a regular file"):
        atomic_write_text("/dev/null", "x")
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    with pytest.raises(WriteError, match="empty"):
        atomic_write_text("", "x")


def test_writes_keep_an_existing_files_mode_and_give_new_ones_the_umask(tmp_path):
    import os
    import stat

    from spherescope.core.atomic import atomic_write_text

    old = tmp_path / "old.json"
    old.write_text("x")
    os.chmod(old, 0o644)
    atomic_write_text(old, "y")
    assert stat.S_IMODE(old.stat().st_mode) == 0o644
    mask = os.umask(0o027)
    try:
        new = tmp_path / "new.json"
        atomic_write_text(new, "z")
    finally:
        os.umask(mask)
    # (the module reads the umask once, at import: the process's, as a CLI run has it)
    from spherescope.core import atomic

    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~atomic._UMASK


def test_a_long_but_valid_file_name_is_written(tmp_path):
    from spherescope.core.atomic import atomic_write_text

    name = "a" * 245 + ".json"  # 250 characters: the old probe suffix made it too long
    atomic_write_text(tmp_path / name, "{}")
    assert (tmp_path / name).read_text() == "{}"


def test_stale_temporary_files_are_swept(tmp_path):
    import os
    import time

    from spherescope.core.atomic import STALE_S, TEMP_PREFIX, sweep_stale

    stale = tmp_path / f"{TEMP_PREFIX}abc.part.mp4"
    stale.write_bytes(b"x")
    old = time.time() - 2 * STALE_S
    os.utime(stale, (old, old))
    fresh = tmp_path / f"{TEMP_PREFIX}def.part"
    fresh.write_bytes(b"y")
    keep = tmp_path / "mine.part"
    keep.write_bytes(b"z")
    assert sweep_stale(tmp_path) == 1
    assert not stale.exists() and fresh.exists() and keep.exists()
