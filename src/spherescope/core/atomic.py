"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class WriteError(Exception):
    """The destination cannot be written; str() is a user-facing sentence."""


def check_writable(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise WriteError(f"Cannot write {p}: it is a directory.")
    if not parent.is_dir():
        raise WriteError(f"Cannot write {p}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK):
        raise WriteError(f"Cannot write {p}: the folder {parent} is not writable.")
    # os.access says yes to root everywhere; only a real try tells (read-only mounts, /proc).
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    p = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    except OSError as exc:
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise WriteError(f"Cannot write {p}: {exc.strerror or exc}.") from None
    return p


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
