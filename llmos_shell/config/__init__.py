"""Settings and where they come from: defaults, config.toml, `LLMOS_*` variables, flags.

The names below are read from `config.settings` when first used, so that importing a light
module of this package (the backends table that `llmos --help` lists) does not import
pydantic-settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmos_shell.config.settings import (
        APP_NAME,
        ENV_PREFIX,
        LoadedConfig,
        Paths,
        Settings,
        load_config,
        render_toml_value,
    )

__all__ = [
    "APP_NAME",
    "ENV_PREFIX",
    "LoadedConfig",
    "Paths",
    "Settings",
    "load_config",
    "render_toml_value",
]


def __getattr__(name: str) -> Any:
    """A name of `__all__`, from `config.settings` (imported on first use)."""
    if name in __all__:
        return getattr(importlib.import_module("llmos_shell.config.settings"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
