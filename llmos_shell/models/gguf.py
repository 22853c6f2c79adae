"""A small reader of a GGUF file's key/value header: quantization, context length, name.

It reads only the metadata at the start of the file and stops as soon as it has what it was
asked for; tensors are never touched, so listing a 40 GB model costs a few kilobytes of I/O.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from llmos_shell.errors import GGUFError

GGUF_MAGIC = b"GGUF"

# llama.cpp's `llama_ftype` values, as written to `general.file_type`.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    33: "Q4_0_4_4",
    34: "Q4_0_4_8",
    35: "Q4_0_8_8",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
    41: "Q2_0",
}

# GGUF value types: struct formats of the fixed-size ones; 8 is a string, 9 an array.
_SCALAR_FORMATS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING = 8
_ARRAY = 9

# Bounds that a real file stays far below; a broken file past them is reported, not obeyed.
_MAX_KV_COUNT = 1_000_000
_MAX_KEY_BYTES = 65_536
_MAX_KEPT_STRING_BYTES = 1 << 20  # longer string values (huge chat templates) are skipped
_MAX_ARRAY_DEPTH = 8


@dataclass(frozen=True)
class GGUFHeader:
    """What the key/value section says about a model; arrays are skipped, not kept."""

    version: int
    tensor_count: int
    kv_count: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str | None:
        """The model architecture, e.g. "llama" or "qwen2"."""
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        """The model's own name, when the converter wrote one."""
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    @property
    def file_type(self) -> int | None:
        """The raw `general.file_type` number."""
        value = self.metadata.get("general.file_type")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def quantization(self) -> str | None:
        """The quantization's usual name (Q4_K_M, Q8_0, F16, ...)."""
        file_type = self.file_type
        if file_type is None:
            return None
        return FILE_TYPES.get(file_type, f"type {file_type}")

    @property
    def context_length(self) -> int | None:
        """The context the model was trained for, in tokens."""
        if self.architecture is None:
            return None
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Reader:
    """Little helpers over a binary file with a known byte order and size."""

    def __init__(self, handle: BinaryIO, size: int, order: str) -> None:
        self.handle = handle
        self.size = size
        self.order = order

    def read(self, count: int) -> bytes:
        data = self.handle.read(count)
        if len(data) != count:
            raise GGUFError(f"the header is truncated at byte {self.handle.tell()}")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(self.order + fmt, self.read(struct.calcsize(fmt)))[0]

    def skip(self, count: int) -> None:
        target = self.handle.tell() + count
        if target > self.size:
            raise GGUFError(f"the header claims {count} bytes past the end of the file")
        self.handle.seek(target, io.SEEK_SET)

    def string(self, limit: int | None) -> str | None:
        """A length-prefixed string; None (and skipped) when longer than `limit`."""
        length = self.unpack("Q")
        if limit is not None and length > limit:
            self.skip(length)
            return None
        if self.handle.tell() + length > self.size:
            raise GGUFError("a string runs past the end of the file")
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, value_type: int, depth: int = 0) -> Any:
        """One value; arrays are skipped and come back as None."""
        if value_type in _SCALAR_FORMATS:
            return self.unpack(_SCALAR_FORMATS[value_type])
        if value_type == _STRING:
            return self.string(_MAX_KEPT_STRING_BYTES)
        if value_type == _ARRAY:
            self.skip_array(depth)
            return None
        raise GGUFError(f"unknown value type {value_type} at byte {self.handle.tell() - 4}")

    def skip_array(self, depth: int) -> None:
        if depth >= _MAX_ARRAY_DEPTH:
            raise GGUFError("arrays are nested too deeply")
        item_type = self.unpack("I")
        count = self.unpack("Q")
        if item_type in _SCALAR_FORMATS:
            self.skip(count * struct.calcsize(_SCALAR_FORMATS[item_type]))
        elif item_type == _STRING:
            for _ in range(count):  # each string has its own length: walk, never read
                self.skip(self.unpack("Q"))
        elif item_type == _ARRAY:
            for _ in range(count):
                self.skip_array(depth + 1)
        else:
            raise GGUFError(f"unknown array item type {item_type}")


def read_gguf_header(path: Path, *, wanted: Collection[str] | None = None) -> GGUFHeader:
    """Read the key/value header of `path`, stopping once every key in `wanted` is found.

    `wanted` may hold "{arch}" for the architecture's own prefix, e.g. "{arch}.context_length".
    Raises GGUFError for a file that is not GGUF or is damaged, OSError when it cannot be read.
    """
    with path.open("rb", buffering=1 << 16) as handle:
        size = path.stat().st_size
        magic = handle.read(4)
        if magic != GGUF_MAGIC:
            raise GGUFError("it does not start with the GGUF magic bytes")
        order = "<"
        reader = _Reader(handle, size, order)
        version = reader.unpack("I")
        if version > 0xFFFF:  # a big-endian file reads as a huge little-endian number
            order = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
            reader = _Reader(handle, size, order)
        if version < 2:
            raise GGUFError(f"GGUF version {version} is too old to read (convert it again)")
        tensor_count = reader.unpack("Q")
        kv_count = reader.unpack("Q")
        if kv_count > _MAX_KV_COUNT:
            raise GGUFError(f"the header claims {kv_count} metadata keys")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string(_MAX_KEY_BYTES)
            if key is None:
                raise GGUFError("a metadata key is implausibly long")
            value_type = reader.unpack("I")
            value = reader.value(value_type)
            if value is not None:
                metadata[key] = value
            if wanted is not None and _has_all(metadata, wanted):
                break
    return GGUFHeader(
        version=version, tensor_count=tensor_count, kv_count=kv_count, metadata=metadata
    )


def _has_all(metadata: dict[str, Any], wanted: Collection[str]) -> bool:
    arch = metadata.get("general.architecture")
    for key in wanted:
        if "{arch}" in key:
            if not isinstance(arch, str):
                return False
            key = key.replace("{arch}", arch)
        if key not in metadata:
            return False
    return True


SUMMARY_KEYS = ("general.architecture", "general.file_type", "{arch}.context_length")


def has_gguf_magic(path: Path) -> bool:
    """Whether the file starts with the GGUF magic bytes."""
    with path.open("rb") as handle:
        return handle.read(4) == GGUF_MAGIC
