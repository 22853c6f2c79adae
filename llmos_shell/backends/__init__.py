"""Planning backends: one interface, every tool call constrained to the registry's schema."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from llmos_shell.backends.base import Backend, ChatMessage, Generation, GenerationStats

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig

__all__ = ["Backend", "ChatMessage", "Generation", "GenerationStats", "create_backend"]


def create_backend(config: LoadedConfig) -> Backend:
    """The backend the settings name, loaded now; heavy libraries are imported only here."""
    settings = config.settings
    if settings.backend == "openai":
        from llmos_shell.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(
            settings.base_url,
            model=settings.model,
            api_key=os.environ.get(settings.api_key_env) or None,
            temperature=settings.temperature,
            timeout_s=max(settings.tool_timeout_s, 120.0),
        )
    if settings.backend == "transformers":
        from llmos_shell.backends.transformers_backend import TransformersBackend

        return TransformersBackend(
            settings.model,
            device=settings.device,
            threads=settings.threads,
            temperature=settings.temperature,
            context_size=settings.context_size,
        )
    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models import resolve_model

    return LlamaCppBackend(
        resolve_model(settings.model),
        context_size=settings.context_size,
        threads=settings.threads,
        temperature=settings.temperature,
        cache_dir=config.paths.cache_dir,
    )
