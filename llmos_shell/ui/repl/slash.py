"""The shell's slash commands: one table, filled by a decorator on each handler.

`/help`, Tab completion and the "unknown command" sentence all read `SLASH_COMMANDS`, so a
command added with `@slash_command` is listed, completed and dispatched with nothing else to
change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[[Any, str], "bool | None"]  # (the shell, the rest of the line) -> leave?


@dataclass(frozen=True)
class SlashCommand:
    """One slash command: its name, what it does, and the shell method that runs it."""

    name: str
    help: str
    handler: Handler
    aliases: tuple[str, ...] = ()


SLASH_COMMANDS: dict[str, SlashCommand] = {}


def slash_command(
    name: str, help: str, *, aliases: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Register a shell method as `name`; it gets the text after the command's name."""

    def register(handler: Handler) -> Handler:
        SLASH_COMMANDS[name] = SlashCommand(name, help, handler, aliases)
        return handler

    return register


def find(name: str) -> SlashCommand | None:
    """The command called `name` or one of its aliases."""
    if name in SLASH_COMMANDS:
        return SLASH_COMMANDS[name]
    return next((c for c in SLASH_COMMANDS.values() if name in c.aliases), None)
