"""Planning backends: one interface, every call constrained to a schema.

Which backends exist is said once, in `config.backends.BACKENDS` (re-exported here). Heavy
libraries are imported only by `create_backend`, through the backend's own module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmos_shell.backends.base import Backend, ChatMessage, Generation, GenerationStats
from llmos_shell.config.backends import BACKENDS, DEFAULT_BACKEND, BackendSpec, backends_loading

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendSpec",
    "ChatMessage",
    "Generation",
    "GenerationStats",
    "backends_loading",
    "create_backend",
]


def create_backend(config: LoadedConfig) -> Backend:
    """The backend the settings name, loaded now; heavy libraries are imported only here."""
    return BACKENDS[config.settings.backend].load(config)
