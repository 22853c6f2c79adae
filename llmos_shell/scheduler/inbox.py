"""Delivering a message to the inbox of the job store in use (the `notify` tool's half)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig


def deliver(config: LoadedConfig, title: str, body: str) -> int:
    """Put a message in the inbox of the store `config` names; returns its number."""
    from llmos_shell.scheduler.location import store_url
    from llmos_shell.scheduler.store import Store

    return Store(store_url(config)).deliver(title, body)
