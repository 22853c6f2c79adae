"""The GGUF reader, the model catalog and the config file editor, on real files."""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.config import load_config
from llmos_shell.config.file import set_top_level_strings
from llmos_shell.errors import ConfigError, GGUFError, LlmosError, ModelNotFoundError
from llmos_shell.models.catalog import (
    backend_for,
    embedded_entry,
    find_model,
    gguf_entry,
    hf_hub_cache,
    list_models,
)
from llmos_shell.models.gguf import read_gguf
from llmos_shell.models.locate import embedded_model_path, resolve_model, resolve_source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# --- writing GGUF headers ----------------------------------------------------------------------

U32, I32, F32, BOOL, STRING, ARRAY, U64 = 4, 5, 6, 7, 8, 9, 10
_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q"}


def _string(text: str, order: str = "<") -> bytes:
    data = text.encode("utf-8")
    return struct.pack(order + "Q", len(data)) + data


def _value(kind: int, value: Any, order: str) -> bytes:
    if kind == STRING:
        return _string(value, order)
    if kind == ARRAY:
        item_kind, items = value
        body = b"".join(_value(item_kind, item, order) for item in items)
        return struct.pack(order + "IQ", item_kind, len(items)) + body
    return struct.pack(order + _FORMATS[kind], value)


def gguf_bytes(
    metadata: list[tuple[str, int, Any]], *, kv_count: int | None = None, order: str = "<"
) -> bytes:
    """A GGUF v3 header with these (key, type, value) entries and no tensors."""
    head = b"GGUF" + struct.pack(
        order + "IQQ", 3, 0, len(metadata) if kv_count is None else kv_count
    )
    body = b"".join(
        _string(k, order) + struct.pack(order + "I", t) + _value(t, v, order)
        for k, t, v in metadata
    )
    return head + body


def llama_metadata(
    file_type: int = 15, context: int = 4096, name: str = "Tiny"
) -> list[tuple[str, int, Any]]:
    """The keys a converter writes first, with a tokenizer array after them."""
    return [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, name),
        ("general.file_type", U32, file_type),
        ("llama.context_length", U32, context),
        ("llama.rope.freq_base", F32, 10000.0),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "hello"])),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.5, 1.0])),
        ("nested", ARRAY, (ARRAY, [(U32, [1, 2]), (STRING, ["x"])])),
        ("general.size", U64, 12345678901),
    ]


def write_gguf(
    path: Path, metadata: list[tuple[str, int, Any]] | None = None, *, padding: int = 64
) -> Path:
    """A small valid GGUF file (header, then bytes standing for the tensors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gguf_bytes(metadata or llama_metadata()) + b"\0" * padding)
    return path


def write_model_gguf(path: Path, *, file_type: int = 1, context: int = 2048) -> Path:
    """A real GGUF model file with one tensor, written by the gguf package's own writer."""
    import numpy as np
    from gguf import GGUFWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = GGUFWriter(str(path), "llama")
    writer.add_name("Tiny")
    writer.add_context_length(context)
    writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.ones((64, 32), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


# --- the reader --------------------------------------------------------------------------------


def test_reads_the_summary_past_every_kind_of_value(tmp_path: Path) -> None:
    # Strings, scalars of each size, a bool, arrays of strings and floats, nested arrays.
    summary = read_gguf(write_gguf(tmp_path / "m.gguf"))
    assert summary.version == 3 and summary.kv_count == 10 and summary.tensor_count == 0
    assert summary.quantization == "Q4_K_M"
    assert summary.context_length == 4096
    assert summary.architecture == "llama" and summary.name == "Tiny"


def test_reads_a_model_written_by_the_gguf_package(tmp_path: Path) -> None:
    path = write_model_gguf(tmp_path / "real.gguf")
    summary = read_gguf(path)
    assert (summary.quantization, summary.context_length, summary.tensor_count) == ("F16", 2048, 1)
    assert summary.data_end == path.stat().st_size  # the tensor's data ends the file


def test_tensor_data_cut_short_makes_the_file_unusable(tmp_path: Path) -> None:
    whole = write_model_gguf(tmp_path / "whole.gguf").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[:-100])  # the header is intact; the tensor misses its last bytes
    with pytest.raises(GGUFError, match=f"cut short: it holds {len(whole) - 100:,} bytes"):
        read_gguf(cut)


def test_an_unchanged_file_is_read_from_the_cache(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "m.gguf")
    assert read_gguf(path).quantization == "Q4_K_M"
    assert (tmp_path / "cache" / "gguf-summaries.json").is_file()
    # Same size and mtime: the cached summary stands, though the bytes are now garbage.
    before = path.stat()
    path.write_bytes(b"GGUF" + b"\xff" * (before.st_size - 4))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert read_gguf(path).quantization == "Q4_K_M"
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with pytest.raises(GGUFError):
        read_gguf(path)  # a changed mtime reads the file again


def test_reads_a_big_endian_file(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    path.write_bytes(gguf_bytes(llama_metadata(file_type=7, context=2048), order=">"))
    summary = read_gguf(path)
    assert (summary.version, summary.quantization, summary.context_length) == (3, "Q8_0", 2048)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"PK\x03\x04" + b"\0" * 40, "magic"),
        (b"", "magic"),
        (b"GGUF" + struct.pack("<I", 3) + b"\0\0", "cut short"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 60), "cut short"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("k") + struct.pack("<I", 99), "damaged"),
        (
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + _string("k")
            + struct.pack("<IIQ", ARRAY, U32, 1 << 50),
            "cut short",
        ),
        (  # three strings promised, one there
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + _string("k")
            + struct.pack("<IIQ", ARRAY, STRING, 3)
            + _string("one"),
            "cut short",
        ),
        (  # a string in an array longer than the file
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + _string("k")
            + struct.pack("<IIQQ", ARRAY, STRING, 1, 1 << 40),
            "cut short",
        ),
        (
            b"GGUF"
            + struct.pack("<IQQ", 3, 0, 1)
            + _string("k")
            + struct.pack("<IIQ", ARRAY, 99, 1),
            "damaged",
        ),
        (b"GGUF" + struct.pack("<IQQ", 1, 0, 0), "version 1"),
    ],
    ids=[
        "zip",
        "empty",
        "truncated",
        "huge-key",
        "unknown-type",
        "huge-array",
        "strings-missing",
        "huge-string-in-array",
        "unknown-item-type",
        "version-1",
    ],
)
def test_a_broken_header_is_a_gguf_error(tmp_path: Path, data: bytes, complaint: str) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFError, match=complaint) as caught:
        read_gguf(path)
    assert "\n" not in str(caught.value)


def test_the_embedded_model_is_q4_1_with_a_context_length() -> None:
    summary = read_gguf(embedded_model_path())
    assert summary.quantization == "Q4_1"
    assert summary.context_length is not None and summary.context_length > 0
    assert summary.data_end == embedded_model_path().stat().st_size
    entry = embedded_entry()
    assert entry.error is None and entry.quantization == "Q4_1"
    assert entry.size_bytes == embedded_model_path().stat().st_size


# --- the catalog -------------------------------------------------------------------------------


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def cached_repo(cache: Path, repo: str, files: dict[str, bytes], commit: str = "a" * 40) -> Path:
    """A repository in the hub cache's layout: blobs, a snapshot of links, refs/main."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / commit
    for name, data in files.items():
        blob = root / "blobs" / f"blob-{abs(hash(name))}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(blob)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    return snapshot


def hf_config(**extra: Any) -> bytes:
    config = {
        "architectures": ["Qwen2ForCausalLM"],
        "max_position_embeddings": 32768,
        "torch_dtype": "bfloat16",
        **extra,
    }
    return json.dumps(config).encode()


def by_name(config_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    return {e.name: e for e in list_models(load_config(overrides=config_overrides))}


def test_lists_every_kind_of_model(
    tmp_path: Path, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_gguf(tmp_path / "data" / "models" / "small-q4_k_m.gguf")
    extra = tmp_path / "extra"
    write_gguf(extra / "other.gguf", llama_metadata(file_type=1, context=2048))
    write_gguf(extra / "big-00001-of-00002.gguf", padding=1000)
    (extra / "big-00002-of-00002.gguf").write_bytes(b"\0" * 500)
    (extra / "broken.gguf").write_bytes(b"not a model")
    folder = extra / "my-model"
    folder.mkdir()
    (folder / "config.json").write_bytes(hf_config(max_position_embeddings=4096))
    (folder / "model.safetensors").write_bytes(b"\0" * 100)
    cached_repo(
        hf_cache, "Org/Chat", {"config.json": hf_config(), "model.safetensors": b"\0" * 200}
    )
    cached_repo(
        hf_cache,
        "Org/Embedder",
        {
            "config.json": json.dumps({"architectures": ["BertModel"]}).encode(),
            "model.safetensors": b"x",
        },
    )
    cached_repo(
        hf_cache, "Org/Chat-GGUF", {"chat-q8_0.gguf": gguf_bytes(llama_metadata(file_type=7))}
    )
    monkeypatch.setenv("LLMOS_MODEL_DIRS", json.dumps([str(extra)]))

    rows = by_name()
    assert rows["embedded"].in_use and rows["embedded"].quantization == "Q4_1"
    assert rows["small-q4_k_m.gguf"].source == "data dir"
    assert rows["small-q4_k_m.gguf"].quantization == "Q4_K_M"
    assert (rows["other.gguf"].quantization, rows["other.gguf"].context_length) == ("F16", 2048)
    split = rows["big-00001-of-00002.gguf"]
    assert split.size_bytes == (tmp_path / "extra" / "big-00001-of-00002.gguf").stat().st_size + 500
    assert "big-00002-of-00002.gguf" not in rows  # only the first part is a row
    assert rows["broken.gguf"].error is not None and "GGUF" in rows["broken.gguf"].error
    assert rows["my-model"].backends == ("transformers",)
    assert rows["my-model"].context_length == 4096
    chat = rows["Org/Chat"]
    assert (chat.format, chat.quantization, chat.context_length) == ("hf", "bfloat16", 32768)
    assert chat.size_bytes == len(hf_config()) + 200  # links followed to their blobs
    assert "Org/Embedder" not in rows  # not a text-generation model
    assert rows["Org/Chat-GGUF/chat-q8_0.gguf"].quantization == "Q8_0"
    assert [e.name for e in rows.values() if e.in_use] == ["embedded"]


def test_hf_cache_location_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert hf_hub_cache() == tmp_path / "hfhome" / "hub"
    monkeypatch.delenv("HF_HOME")
    assert hf_hub_cache() == Path(str(tmp_path / "home" / ".cache")) / "huggingface" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "direct"))
    assert hf_hub_cache() == tmp_path / "direct"


def test_the_model_in_effect_is_marked(tmp_path: Path, hf_cache: Path) -> None:
    model = write_gguf(tmp_path / "elsewhere" / "mine.gguf")
    rows = by_name({"model": str(model)})
    assert [e.name for e in rows.values() if e.in_use] == [str(model)]  # added, found nowhere else
    cached_repo(hf_cache, "Org/Chat", {"config.json": hf_config(), "model.safetensors": b"w"})
    rows = by_name({"model": "Org/Chat", "backend": "transformers"})
    assert [e.name for e in rows.values() if e.in_use] == ["Org/Chat"]
    rows = by_name({"backend": "openai"})
    assert not any(e.in_use for e in rows.values())  # the server's model is not local
    rows = by_name({"model": "Org/Missing", "backend": "transformers"})
    assert rows["Org/Missing"].error is not None


def test_find_model_by_name_path_or_a_close_miss(tmp_path: Path) -> None:
    write_gguf(tmp_path / "data" / "models" / "qwen2.5-0.5b-q4_k_m.gguf")
    config = load_config()
    assert find_model(config, "qwen2.5-0.5b-q4_k_m.gguf").source == "data dir"
    assert find_model(config, "EMBEDDED").source == "embedded"
    loose = write_gguf(tmp_path / "loose.gguf")
    assert find_model(config, str(loose)).path == loose.resolve()
    with pytest.raises(ModelNotFoundError) as caught:
        find_model(config, "qwen2.5-0.5b")
    message = str(caught.value)
    assert "no model called 'qwen2.5-0.5b'" in message and "qwen2.5-0.5b-q4_k_m.gguf" in message
    assert ". " not in message
    with pytest.raises(ModelNotFoundError, match="llmos models pull Org/Unknown"):
        find_model(config, "Org/Unknown")


@pytest.mark.parametrize("backend", ["llama-cpp", "transformers"])
def test_a_fifo_or_a_device_as_the_model_is_refused_without_reading(
    tmp_path: Path, backend: str
) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)  # reading it would block until someone writes to it: forever
    resolve = resolve_model if backend == "llama-cpp" else resolve_source
    with pytest.raises(ModelNotFoundError, match=r"model.gguf is a FIFO \(named pipe\)"):
        resolve(str(fifo))
    with pytest.raises(ModelNotFoundError, match="/dev/null is a character device, not a model"):
        resolve("/dev/null")


def test_a_fifo_among_the_models_is_listed_as_an_error(tmp_path: Path) -> None:
    fifo = tmp_path / "data" / "models" / "pipe.gguf"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    entry = gguf_entry(fifo, name="pipe.gguf", source="data dir")
    assert entry.error == "it is a FIFO (named pipe), not a model file"


def test_backend_for_keeps_a_backend_that_can_load_it(tmp_path: Path) -> None:
    gguf = find_model(load_config(), str(write_gguf(tmp_path / "m.gguf")))
    assert backend_for(gguf, "llama-cpp") == "llama-cpp"
    assert backend_for(gguf, "transformers") == "transformers"
    assert backend_for(gguf, "openai") == "llama-cpp"
    folder = tmp_path / "hfmodel"
    folder.mkdir()
    (folder / "config.json").write_bytes(hf_config())
    (folder / "model.safetensors").write_bytes(b"w")
    hf = find_model(load_config(), str(folder))
    assert backend_for(hf, "llama-cpp") == "transformers"
    with pytest.raises(LlmosError, match="cannot load"):
        backend_for(hf, "llama-cpp", requested="llama-cpp")


# --- editing the config file -------------------------------------------------------------------

CONFIG = """\
# my settings
model = "/old/model.gguf"  # the model I like
threads = 2   # two cores

[extra]
model = "not top level"
"""


def test_replaces_the_line_and_keeps_comments_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text(CONFIG)
    set_top_level_strings(path, {"model": "/new/m.gguf", "backend": "transformers"})
    text = path.read_text()
    assert text.splitlines() == [
        "# my settings",
        'model = "/new/m.gguf"  # the model I like',
        "threads = 2   # two cores",
        'backend = "transformers"',
        "",
        "[extra]",
        'model = "not top level"',
    ]
    data = tomllib.loads(text)
    assert data["model"] == "/new/m.gguf" and data["extra"]["model"] == "not top level"
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary file left


def test_creates_the_file_and_escapes_values(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    odd = 'C:\\models\\a "b".gguf'
    set_top_level_strings(path, {"model": odd})
    assert tomllib.loads(path.read_text()) == {"model": odd}


def test_keeps_windows_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'# c\r\nmodel = ""\r\n')
    set_top_level_strings(path, {"model": "x.gguf"})
    assert path.read_bytes() == b'# c\r\nmodel = "x.gguf"\r\n'


def test_refuses_to_break_a_multi_line_value(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = 'model = """\n/a.gguf\n"""\n'
    path.write_text(original)
    with pytest.raises(ConfigError, match="edit it by hand"):
        set_top_level_strings(path, {"model": "/b.gguf"})
    assert path.read_text() == original
