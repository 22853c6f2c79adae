"""What a GGUF file says about its model, read with the `gguf` package's GGUFReader.

GGUFReader is maintained with llama.cpp, so new GGUF versions, value types and quantizations
read without changes here. Two things are ours:

- Every read is held to the file's size. GGUFReader slices a memory map, and a slice past
  the end is silently short: a truncated file would read as zeros, or spin on a damaged
  array length. Here a read past the end is an error, and the tensor data the header
  promises must fit in the file, so a truncated download is unusable, not a model.
- GGUFReader parses every array item by item, which takes seconds for a tokenizer's
  vocabulary; the summary needs only scalars, so an array of strings or numbers is stepped
  over in one pass (its bounds still checked) rather than parsed. The summary is also cached
  in the cache dir per file, keyed by size and mtime.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llmos_shell.errors import GGUFError

GGUF_MAGIC = b"GGUF"
CACHE_FILE = "gguf-summaries.json"


@dataclass(frozen=True)
class GGUFSummary:
    """What `llmos models` and `doctor` show of a GGUF file."""

    version: int
    tensor_count: int
    kv_count: int
    architecture: str | None
    name: str | None
    file_type: int | None
    context_length: int | None
    data_end: int  # the byte where the last tensor's data ends

    @property
    def quantization(self) -> str | None:
        """The quantization's usual name (Q4_K_M, Q8_0, F16, ...), from llama.cpp's table."""
        if self.file_type is None:
            return None
        from gguf import LlamaFileType

        try:
            name = LlamaFileType(self.file_type).name
        except ValueError:
            return f"type {self.file_type}"
        return name.removeprefix("MOSTLY_").removeprefix("ALL_")


class _CutShort(Exception):
    """A read that would pass the end of the file."""

    def __init__(self, end: int) -> None:
        super().__init__(end)
        self.end = end


# The most context a model gets when the settings leave `context_size` alone: enough for a
# long listing in the prompt, while the KV cache stays small on a small machine.
CONTEXT_CAP = 8192


def fitted_context(path: Path, default: int, cap: int = CONTEXT_CAP) -> int:
    """The context for a model when the settings leave it: its trained context up to `cap`
    (so a model trained on more gets enough, and one trained on less is not run past it)."""
    try:
        trained = read_gguf(path).context_length
    except (GGUFError, OSError):
        return default
    return min(trained, max(cap, default)) if trained else default


def read_gguf(path: Path) -> GGUFSummary:
    """The summary of a GGUF file, from the cache when the file is unchanged.

    Raises GGUFError for a file that is not GGUF, is damaged or truncated; OSError when it
    cannot be read at all.
    """
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise GGUFError("it is not a regular file")
    key = str(path.resolve())
    stamp = [info.st_size, info.st_mtime_ns]
    cache_file = _cache_file()
    cached = _load(cache_file).get(key)
    if isinstance(cached, dict) and cached.get("stamp") == stamp:
        if isinstance(cached.get("error"), str):
            raise GGUFError(cached["error"])
        with contextlib.suppress(TypeError):  # an entry of another version: read again
            return GGUFSummary(**cached["summary"])
    try:
        summary = _read(path, info.st_size)
    except GGUFError as exc:
        _store(cache_file, key, {"stamp": stamp, "error": str(exc)})
        raise
    _store(cache_file, key, {"stamp": stamp, "summary": asdict(summary)})
    return summary


def _read(path: Path, size: int) -> GGUFSummary:
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise GGUFError("it does not start with the GGUF magic bytes")
    try:
        reader = _bounded_reader()(path)
    except _CutShort as cut:
        raise _truncated(size, cut.end) from None
    except OSError:
        raise
    except Exception as exc:  # the reader raises what numpy and its enums raise on bad input
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise GGUFError(
            f"it is damaged or of a kind the gguf package cannot read ({detail})"
        ) from None
    data_end = max((int(t.data_offset) + int(t.n_bytes) for t in reader.tensors), default=0)
    if data_end > size:  # held even where the reader did not read the tensors' data
        raise _truncated(size, data_end)
    architecture = _field(reader, "general.architecture")
    context = _field(reader, f"{architecture}.context_length") if architecture else None
    return GGUFSummary(
        version=int(_field(reader, "GGUF.version") or 0),
        tensor_count=len(reader.tensors),
        kv_count=int(_field(reader, "GGUF.kv_count") or 0),
        architecture=architecture if isinstance(architecture, str) else None,
        name=_text(_field(reader, "general.name")),
        file_type=_number(_field(reader, "general.file_type")),
        context_length=_number(context),
        data_end=data_end,
    )


def _truncated(size: int, needed: int) -> GGUFError:
    return GGUFError(
        f"the file is cut short: it holds {size:,} bytes where its header needs {needed:,} "
        "(an interrupted download or copy)"
    )


@functools.cache
def _bounded_reader() -> type[Any]:
    """GGUFReader with every read held to the end of the file."""
    import numpy as np
    from gguf import GGUFReader, GGUFValueType

    sizes: dict[Any, int] = {}

    class BoundedReader(GGUFReader):
        def _get(self, offset: int, dtype: Any, count: int = 1, *args: Any, **kwargs: Any) -> Any:
            size = sizes.get(dtype)
            if size is None:
                size = sizes[dtype] = np.dtype(dtype).itemsize
            end = int(offset) + size * int(count)
            if end > self.data.shape[0]:
                raise _CutShort(end)
            return super()._get(offset, dtype, count, *args, **kwargs)

        def _get_field_parts(self, orig_offs: int, raw_type: int) -> Any:
            """An array of strings or numbers in one step: its items are skipped, not kept."""
            if GGUFValueType(raw_type) != GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            raw_itype = self._get(orig_offs, np.uint32)
            alen = self._get(orig_offs + 4, np.uint64)
            itype = GGUFValueType(int(raw_itype[0]))  # an unknown type raises, as GGUFReader's
            count, start = int(alen[0]), orig_offs + 12
            if itype == GGUFValueType.ARRAY or count == 0:
                return super()._get_field_parts(orig_offs, raw_type)
            if itype == GGUFValueType.STRING:
                end = _strings_end(self.data, start, count, self.byte_order == "S")
                items = self.data[start:end]
            else:
                items = self._get(start, self.gguf_scalar_to_np[itype], count)
                end = start + int(items.nbytes)
            types = [GGUFValueType.ARRAY, itype]
            return end - orig_offs, [raw_itype, alen, items], [], types

    return BoundedReader


def _strings_end(data: Any, offset: int, count: int, swapped: bool) -> int:
    """Where `count` length-prefixed strings starting at `offset` end; _CutShort past the end."""
    import struct
    import sys

    little = (sys.byteorder == "little") != swapped
    length = struct.Struct("<Q" if little else ">Q")
    view, size = memoryview(data), len(data)
    for _ in range(count):
        if offset + 8 > size:
            raise _CutShort(offset + 8)
        offset += 8 + length.unpack_from(view, offset)[0]
        if offset > size:
            raise _CutShort(offset)
    return offset


def _field(reader: Any, key: str) -> Any:
    """A scalar or string value; None for an array or a key that is not there."""
    from gguf import GGUFValueType

    field = reader.get_field(key)
    if field is None or len(field.types) != 1 or not field.data:
        return None
    part = field.parts[field.data[0]]
    if field.types[0] == GGUFValueType.STRING:
        return bytes(part).decode("utf-8", errors="replace")
    return part[0].item() if len(part) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the cache of summaries -------------------------------------------------------------------


def _cache_file() -> Path:
    from llmos_shell.config import Paths

    return Paths.from_env().cache_dir / CACHE_FILE


def _load(cache_file: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store(cache_file: Path, key: str, entry: dict[str, Any]) -> None:
    """Add one entry, dropping those of files that are gone; a cache that cannot be written
    only costs the next read its time."""
    entries = {k: v for k, v in _load(cache_file).items() if os.path.exists(k)}
    entries[key] = entry
    with contextlib.suppress(OSError):
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(temporary, cache_file)
