"""A directory cache of converted models that never serves a partial or corrupt entry.

Entries are built in a temporary sibling directory and renamed into place only when
complete, with a manifest of file sizes and full-content checksums written last. A
missing manifest, a size mismatch or a checksum mismatch (any flipped byte: the
checksum covers every byte, XXH3-128, ~10 GB/s) means the entry is deleted and
rebuilt. A cache folder that cannot be written is replaced by a temporary one for the
run, with a warning; building directories left by a killed process are swept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

MANIFEST = "spherescope-cache.json"
MANIFEST_VERSION = 2  # 1 had sampled checksums: its entries are verified anew (rebuilt once)
_SAMPLES = 64
_CHUNK = 1 << 16
STALE_BUILD_S = 600  # a building directory older than this belongs to a process that died
fallback_warning: str | None = None  # set when the cache folder could not be used


def cache_root() -> Path:
    env = os.environ.get("SPHERESCOPE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "spherescope"


def sampled_digest(path: Path) -> str:
    """A checksum of the size and 64 spread-out 64 KiB chunks.

    Hashing a 540 MB safetensors file in full costs about half a second, a third of
    the whole cached load; sampling catches truncation, zero-filled or rewritten
    regions at a fraction of that.
    """
    size = path.stat().st_size
    h = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as f:
        if size <= _SAMPLES * _CHUNK:
            h.update(f.read())
        else:
            step = (size - _CHUNK) // (_SAMPLES - 1)
            for i in range(_SAMPLES):
                f.seek(i * step)
                h.update(f.read(_CHUNK))
    return h.hexdigest()


def full_digest(path: Path, chunk: int = 8 << 20) -> str:
    """XXH3-128 of every byte of the file (measured: 0.2 s for the 540 MB converted
    SmolLM2 from the page cache; benchmarks/bench_trace.py prints it)."""
    import xxhash

    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _write_manifest(directory: Path) -> None:
    files = {}
    for p in sorted(directory.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            files[str(p.relative_to(directory))] = {"size": p.stat().st_size, "xxh3": full_digest(p)}
    (directory / MANIFEST).write_text(json.dumps({"version": MANIFEST_VERSION, "files": files}, indent=1))


def is_valid(directory: Path) -> bool:
    """Every file the manifest lists is there, a regular file, of its size and checksum."""
    try:
        if not directory.is_dir() or directory.is_symlink():
            return False
        manifest = json.loads((directory / MANIFEST).read_text())
        if manifest.get("version") != MANIFEST_VERSION:
            return False
        files = manifest["files"]
        if not files:
            return False
        for rel, meta in files.items():
            p = directory / rel
            if not p.is_file() or p.is_symlink() or p.stat().st_size != meta["size"] or full_digest(p) != meta["xxh3"]:
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _remove(path: Path) -> None:
    """Whatever is at path: a directory tree, a file, a symlink."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _owner_gone(name: str) -> bool:
    """A building directory named ".<key>.<pid>-<random>" whose process has ended."""
    import re

    m = re.search(r"\.(\d{1,10})-[^.]*$", name)
    if m is None:
        return False
    pid = int(m.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def sweep_stale_builds(root: Path, older_than_s: float = STALE_BUILD_S) -> int:
    """Delete building directories (".<key>.<pid>-<random>") a killed process left
    behind: at once when their process is gone, else (another process still building,
    or a name without a pid) once they are older than `older_than_s`."""
    import time

    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for e in entries:
        try:
            if e.name.startswith(".") and e.is_dir(follow_symlinks=False) and (
                    _owner_gone(e.name) or time.time() - e.stat(follow_symlinks=False).st_mtime > older_than_s):
                shutil.rmtree(e.path, ignore_errors=True)
                removed += 1
        except OSError:
            pass
    return removed


def usable_root(root: Path) -> Path:
    """The cache folder, or (when it cannot be created or written: a file there, a
    read-only mount) a temporary one for this run, with `fallback_warning` set once."""
    global fallback_warning
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".probe.", dir=root))
        probe.rmdir()
        return root
    except OSError as exc:
        fallback = Path(tempfile.gettempdir()) / f"spherescope-cache-{os.getuid() if hasattr(os, 'getuid') else 0}"
        fallback.mkdir(parents=True, exist_ok=True)
        if fallback_warning is None:
            fallback_warning = (f"The cache folder {root} cannot be used ({exc.strerror or exc}); converted models "
                                f"are kept in {fallback} for now. Set SPHERESCOPE_CACHE to a writable folder.")
        return fallback


class CacheFull(OSError):
    """The disk filled while building an entry (the message says where and how much)."""


def _disk_full(exc: BaseException) -> bool:
    import errno

    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(exc):  # safetensors' own error type
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def get_or_build(key: str, build: Callable[[Path], None], root: Path | None = None,
                 need_bytes: int | None = None) -> tuple[Path, bool]:
    """Return (directory, built_now). `build(tmpdir)` must fill tmpdir completely.
    `need_bytes`: about how much the entry takes, for the sentence a full disk gets."""
    root = usable_root(cache_root() if root is None else root)
    final = root / key
    if final.exists() or final.is_symlink():
        if is_valid(final):
            return final, False
        _remove(final)  # corrupt, partial, or not even a directory: rebuilt
    sweep_stale_builds(root)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.{os.getpid()}-", dir=root))
    try:
        build(tmp)
        _write_manifest(tmp)
        try:
            os.replace(tmp, final)
        except OSError:
            # Another process finished the same entry first; use theirs if it is sound.
            if not is_valid(final):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if _disk_full(exc):
            free = shutil.disk_usage(root).free
            need = f"about {need_bytes / 1e6:,.0f} MB" if need_bytes else "more room"
            raise CacheFull(f"The disk holding spherescope's cache folder {root} is full ({free / 1e6:,.0f} MB free): "
                            f"converting this model needs {need}. Free some space there, or set SPHERESCOPE_CACHE "
                            "to a folder on a disk with room.") from None
        raise
    return final, True


# ---- converted GGUF models ---------------------------------------------------------

def installed_version(package: str) -> str | None:
    """A package's version from its dist-info folder name, without importing it
    (importing transformers takes seconds) or importlib.metadata (50 ms). None when
    there is no single dist-info beside the package, as in a frozen build."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(list(spec.submodule_search_locations)[0]).parent
    found = list(site.glob(f"{package}-*.dist-info"))
    return found[0].name[len(package) + 1:-len(".dist-info")] if len(found) == 1 else None


def gguf_cache_key(path: Path) -> str:
    """Names a converted copy by the GGUF's content and the transformers that converted
    it. Content, not the file's date: reinstalling the same wheel (every fresh set-up
    does) must not cost another 14 s conversion and another 540 MB entry."""
    st = path.stat()
    return _content_key(str(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _content_key(path: str, _ino: int, size: int, _mtime_ns: int) -> str:
    # Remembered per file signature: the tokenizer prefetch and the load that follows
    # (and every reload of the same file) would otherwise each read and hash its samples.
    version = installed_version("transformers")
    if version is None:
        import transformers

        version = transformers.__version__
    return f"{Path(path).stem}-{size}-{sampled_digest(Path(path))[:12]}-tf{version}"


def gguf_cache_dir(path: Path) -> Path:
    return cache_root() / gguf_cache_key(path)


def prune_date_keyed_entries(path: Path, root: Path) -> list[str]:
    """Delete this GGUF's converted copies from before entries were keyed by content
    (`stem-size-<file date>-tf...`): this version never reads them, and each is the size
    of the model (540 MB for the default one). Entries of other files, and entries of
    this file made by another transformers version, are left alone."""
    import re

    old = re.compile(re.escape(f"{path.stem}-{path.stat().st_size}-") + r"\d{1,11}-tf")
    removed = []
    for entry in root.iterdir():
        if entry.is_dir() and old.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
