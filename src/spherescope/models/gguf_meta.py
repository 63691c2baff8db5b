"""Just enough of the GGUF format to describe a model without loading it.

gguf.GGUFReader turns every array (49,152 token strings for SmolLM2) into numpy
objects and takes about 2 s; the model dialog needs the header in milliseconds, on
the GUI thread, so this walks the key/value pairs and tensor infos itself and skips
the arrays it does not need. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 24  # a sane header never has a 16 MB key or value; a corrupt one might


class GGUFFormatError(ValueError):
    """Not a GGUF file this reader understands; str() is a user-facing sentence."""


@dataclass
class GGUFMeta:
    version: int
    fields: dict = field(default_factory=dict)  # scalars and strings; arrays as their length
    tensors: dict = field(default_factory=dict)  # name -> (shape, ggml type id)

    def get(self, key: str, default=None):
        return self.fields.get(key, default)

    @property
    def architecture(self) -> str:
        return str(self.fields.get("general.architecture", "unknown"))

    def arch_field(self, name: str, default=None):
        return self.fields.get(f"{self.architecture}.{name}", default)

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(shape) for shape, _t in self.tensors.values())


class _Buf:
    """Reads the header through a 1 MB buffer and skips arrays inside it. Reading item
    by item from the file (one seek per skipped string: ~100,000 system calls for
    SmolLM2's vocabulary and merges) also starved the GUI thread of the GIL for ~0.3 s
    while the worker did it: each call releases and at once retakes the GIL, and a
    waiting thread never gets its turn."""

    CHUNK = 1 << 20

    def __init__(self, fh, size: int | None = None) -> None:
        self.fh = fh
        self.data = b""
        self.pos = 0
        self.size = size  # the file's size: no count or length in the header can exceed it

    def bound(self, count: int, each: int, what: str) -> None:
        """A header count whose items could not fit in the file is a corrupt header (a
        loop over 2^60 strings would otherwise never end)."""
        if self.size is not None and count * each > self.size:
            raise GGUFFormatError(f"The GGUF header claims {what} larger than the whole file; the file is corrupt.")

    def _fill(self, n: int) -> None:
        if len(self.data) - self.pos < n:
            self.data = self.data[self.pos:] + self.fh.read(max(n, self.CHUNK))
            self.pos = 0

    def read(self, n: int) -> bytes:
        self._fill(n)
        b = self.data[self.pos:self.pos + n]
        if len(b) != n:
            raise GGUFFormatError("The GGUF file ends in the middle of its header; it is truncated or not a GGUF model.")
        self.pos += n
        return b

    def skip(self, n: int) -> None:
        left = len(self.data) - self.pos
        if n <= left:
            self.pos += n
        else:
            self.fh.seek(n - left, 1)
            self.data, self.pos = b"", 0

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        self.bound(n, 1, "a string")
        if n > _MAX_STRING:
            raise GGUFFormatError("The GGUF header holds an impossible string length; the file is corrupt.")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype, n = self.unpack("<I"), self.unpack("<Q")
            if itype in _SCALARS:
                size = struct.calcsize(_SCALARS[itype])
                self.bound(n, size, "an array")
                if n <= 16:
                    return [self.unpack(_SCALARS[itype]) for _ in range(n)]
                self.skip(size * n)
            elif itype == _STRING:
                self.bound(n, 8, "an array of strings")
                for _ in range(n):
                    length = self.unpack("<Q")
                    self.bound(length, 1, "a string")
                    self.skip(length)
            else:
                raise GGUFFormatError(f"The GGUF header has an array of unknown type {itype}; the file is corrupt.")
            return n  # only the length of long arrays is kept
        raise GGUFFormatError(f"The GGUF header has a value of unknown type {vtype}; the file is corrupt.")


def read_gguf_meta(path: str | Path) -> GGUFMeta:
    try:
        with open(path, "rb") as fh:
            buf = _Buf(fh, os.fstat(fh.fileno()).st_size)
            if buf.read(4) != b"GGUF":
                raise GGUFFormatError(f"{Path(path).name} is not a GGUF file (its first bytes are not 'GGUF').")
            version = buf.unpack("<I")
            if version < 2:
                raise GGUFFormatError(f"{Path(path).name} is GGUF version {version}; only versions 2 and 3 are read.")
            n_tensors, n_kv = buf.unpack("<Q"), buf.unpack("<Q")
            if n_tensors > 1_000_000 or n_kv > 1_000_000:
                raise GGUFFormatError("The GGUF header claims an impossible number of entries; the file is corrupt.")
            buf.bound(n_tensors + n_kv, 12, "entries")
            meta = GGUFMeta(version)
            for _ in range(n_kv):
                key = buf.string()
                meta.fields[key] = buf.value(buf.unpack("<I"))
            for _ in range(n_tensors):
                name = buf.string()
                dims = buf.unpack("<I")
                if dims > 8:
                    raise GGUFFormatError("The GGUF header has a tensor with more than 8 dimensions; the file is corrupt.")
                shape = tuple(buf.unpack("<Q") for _ in range(dims))
                ttype = buf.unpack("<I")
                buf.unpack("<Q")  # data offset
                meta.tensors[name] = (shape, ttype)
            return meta
    except OSError as exc:
        raise GGUFFormatError(f"Cannot read {path}: {exc.strerror or exc}") from None
