"""Delivering a message to the inbox of the job store in use (the `notify` tool's half)."""

from __future__ import annotations


def deliver(title: str, body: str) -> int:
    """Put a message in the inbox; returns its number."""
    from llmos_shell.config import load_config
    from llmos_shell.scheduler.location import store_url
    from llmos_shell.scheduler.store import Store

    return Store(store_url(load_config())).deliver(title, body)
