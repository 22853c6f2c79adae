"""The terminals llmos writes to: one error line, warnings, and consoles that fit the output."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 1000  # columns when output is not a terminal: tables are not wrapped at 80


def error_line(message: str) -> None:
    """The one line a failed command prints: `llmos: error: what, where, how to fix`."""
    print(f"llmos: error: {message}", file=sys.stderr)


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr) that does not colour numbers by itself."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def wide_console() -> Console:
    """A console for tables: as wide as the terminal, or unwrapped when output is piped."""
    out = console()
    if not out.is_terminal:
        out.width = PIPED_WIDTH
    return out


def warn(out: Console, warnings: Iterable[str]) -> None:
    """Each warning on its own yellow line."""
    from rich.markup import escape

    for warning in warnings:
        out.print(f"[yellow]warning: {escape(warning)}[/]", soft_wrap=True)


def terminal_ask(message: str, default: str) -> str:
    """Ask the person at the terminal one question (prompt-toolkit, with line editing)."""
    from prompt_toolkit import prompt

    return prompt(message, default=default)
