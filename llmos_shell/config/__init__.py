"""Settings and where they come from: defaults, config.toml, `LLMOS_*` variables, flags."""

from __future__ import annotations

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
