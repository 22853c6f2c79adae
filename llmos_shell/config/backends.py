"""The table of planning backends: which exist, what each loads, which settings it reads, which
libraries it needs and how to install them.

The one place that says so: the config, the command line, the model catalog, `doctor` and the
benchmarks all read it. It is data (a factory is named as "module:function" and imported only
when the backend loads), so the settings and the catalog read it without the backends.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmos_shell.backends.base import Backend
    from llmos_shell.config.settings import LoadedConfig


@dataclass(frozen=True)
class BackendSpec:
    """One backend: what it runs, what it reads, what it needs."""

    name: str
    summary: str
    loads: tuple[str, ...]  # model formats: "gguf" files, "hf" folders; () for a server's model
    modules: tuple[str, ...]  # Python modules it imports when it loads
    install: str  # how to install those modules
    settings: tuple[str, ...]  # the settings it reads besides `model` and `backend`
    factory: str  # "module:function" that builds it from a LoadedConfig

    @property
    def remote(self) -> bool:
        """Whether the model runs in a server elsewhere rather than in this process."""
        return not self.loads

    def load(self, config: LoadedConfig) -> Backend:
        """Build the backend from the settings (imports its libraries now)."""
        module_name, _, function = self.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), function)
        backend: Backend = factory(config)
        return backend


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec(
            name="llama-cpp",
            summary="GGUF files on the CPU through llama.cpp, constrained by a GBNF grammar",
            loads=("gguf",),
            modules=("llama_cpp",),
            install="pip install llama-cpp-python",
            settings=("context_size", "threads", "temperature"),
            factory="llmos_shell.backends.llama_cpp:from_config",
        ),
        BackendSpec(
            name="transformers",
            summary="GGUF files, model folders and cached hub ids through torch "
            "(CUDA, then MPS, then the CPU), constrained by llguidance",
            loads=("gguf", "hf"),
            modules=("torch", "transformers", "llguidance"),
            install="pip install torch --index-url https://download.pytorch.org/whl/cpu "
            "(or a CUDA build on a GPU machine), then pip install 'llmos-shell[gpu]'",
            settings=("device", "context_size", "threads", "temperature"),
            factory="llmos_shell.backends.transformers_backend:from_config",
        ),
        BackendSpec(
            name="openai",
            summary="any server speaking the OpenAI chat API (vLLM, llama.cpp's server, "
            "Ollama, LM Studio), constrained by its JSON Schema response_format",
            loads=(),
            modules=("openai",),
            install="pip install 'llmos-shell[openai]'",
            settings=("base_url", "api_key_env", "temperature", "tool_timeout_s"),
            factory="llmos_shell.backends.openai_compat:from_config",
        ),
    )
}
DEFAULT_BACKEND = "llama-cpp"


def backends_loading(model_format: str) -> tuple[str, ...]:
    """The names of the backends that load a model of this format ("gguf" or "hf")."""
    return tuple(name for name, spec in BACKENDS.items() if model_format in spec.loads)
