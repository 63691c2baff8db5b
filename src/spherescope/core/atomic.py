"""Atomic file writes: a reader sees the old file or the new one, never half of one.

A write goes to a hidden temporary file beside the target (TEMP_PREFIX...) and is
renamed over it when complete. Only regular files are replaced: a device, a FIFO or a
socket at the path is refused, and a symlink is written through to the file it names.
An existing file keeps its permissions; a new one gets the umask's. Temporary files
left by a killed process are swept later (`sweep_stale`).
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

TEMP_PREFIX = ".spherescope-"  # short: a 250-character target name still leaves room for it
STALE_S = 600  # temporary files older than this belong to a process that died


class WriteError(Exception):
    """The destination cannot be written; str() is a user-facing sentence."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def target_of(path: str | os.PathLike) -> Path:
    """Where a write to `path` lands: the file a symlink names (even a dangling one)."""
    if path is None or str(path).strip() == "":
        raise WriteError("The output file name is empty: give a file to write to.")
    p = Path(path).expanduser()
    try:
        if p.is_symlink():
            p = Path(os.path.realpath(p))
    except (OSError, RuntimeError) as exc:  # a loop of symlinks
        raise WriteError(f"Cannot write {path}: {exc}.") from None
    return p


def _read_file(st: os.stat_result, reading) -> str | None:
    """The input among `reading` that is the same file as `st`, or None."""
    for item in reading:
        if item is None:
            continue
        try:
            q = Path(item)
            candidates = [c for c in q.iterdir() if c.is_file()] if q.is_dir() else [q]
            for c in candidates:
                cs = os.stat(c)
                if (cs.st_dev, cs.st_ino) == (st.st_dev, st.st_ino):
                    return str(c)
        except (OSError, ValueError):
            continue
    return None


def check_writable(path: str | os.PathLike, reading=()) -> Path:
    """The file a write to `path` would replace, checked before any slow work: a
    WriteError (a sentence) if it cannot be written, or if it is one of the files the
    command reads (`reading`: paths, folders for every file in them), whatever name
    it goes by (the same inode)."""
    p = target_of(path)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    if st is not None:
        read = _read_file(st, reading)
        if read is not None:
            raise WriteError(f"Cannot write {p}: it is {read}, which this command reads; choose another file name.")
        if stat.S_ISDIR(st.st_mode):
            raise WriteError(f"Cannot write {p}: it is a directory.")
        if not stat.S_ISREG(st.st_mode):
            raise WriteError(f"Cannot write {p}: it is not a regular file (a device, a pipe or a socket); "
                             "choose a file name.")
    if len(p.name.encode()) > 255:
        raise WriteError(f"Cannot write {p.name[:40]}…: the file name is longer than 255 bytes.")
    if not parent.is_dir():
        raise WriteError(f"Cannot write {p}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise WriteError(f"Cannot write {p}: the folder {parent} is not writable.")
    # os.access says yes to root everywhere; only a real try tells (read-only mounts, /proc).
    try:
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    return p


def temp_beside(p: Path, suffix: str = ".part") -> Path:
    """A new hidden temporary file in p's folder (closed), for a write renamed over p.
    Our temporary files there that a killed process left behind are swept first."""
    sweep_stale(p.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=p.parent)
    except OSError as exc:
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    os.close(fd)
    return Path(tmp)


def replace_into(tmp: Path, p: Path) -> None:
    """Rename a complete temporary file over p, keeping p's permissions if it exists
    (mkstemp makes files 0600: new ones get the umask's permissions instead)."""
    try:
        mode = stat.S_IMODE(os.stat(p).st_mode)
    except OSError:
        mode = 0o666 & ~_UMASK
    os.chmod(tmp, mode)
    os.replace(tmp, p)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    p = check_writable(path)
    tmp = temp_beside(p)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        replace_into(tmp, p)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    return p


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a hand-edited "\ud800" escape
        raise WriteError(f"Cannot write {path}: the text holds characters that are not valid Unicode.") from None
    return atomic_write_bytes(path, data)


def sweep_stale(folder: str | os.PathLike, older_than_s: float = STALE_S) -> int:
    """Delete temporary files of ours older than `older_than_s` in `folder` (left by a
    process that was killed mid-write); returns how many. Best effort."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if e.name.startswith(TEMP_PREFIX) and e.name.endswith((".part", ".probe")) or (
                e.name.startswith(TEMP_PREFIX) and ".part." in e.name):
            try:
                if e.is_file(follow_symlinks=False) and now - e.stat(follow_symlinks=False).st_mtime > older_than_s:
                    os.unlink(e.path)
                    removed += 1
            except OSError:
                pass
    return removed


class atomic_stream:
    """`with atomic_stream(path) as f:` a text file written piece by piece (a prompt
    set's JSON, too large to hold), renamed over `path` only when the block completes;
    an error or an interrupt leaves the old file and no temporary one."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.p = check_writable(path)
        self.tmp: Path | None = None
        self.f = None

    def __enter__(self):
        self.tmp = temp_beside(self.p)
        self.f = open(self.tmp, "w", encoding="utf-8")
        return self.f

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.f.flush()
                os.fsync(self.f.fileno())
            self.f.close()
            if exc_type is None:
                replace_into(self.tmp, self.p)
                return
        except OSError as err:
            exc_type, exc = WriteError, WriteError(f"Cannot write {self.p}: {err.strerror or err}.")
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        if exc_type is WriteError and exc is not None:
            raise exc
