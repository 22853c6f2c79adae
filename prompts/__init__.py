"""Prompt templates and example pools: data, with the one loader of prompt files."""

from __future__ import annotations

import functools
from importlib import resources


@functools.lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    """A prompt file shipped with the package (read once)."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
