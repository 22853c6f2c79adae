"""`/resume` in the shell: the kept conversations listed, and one picked up by its number."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.markup import escape

if TYPE_CHECKING:
    from rich.console import Console

    from llmos_shell.app import App

MAX_LISTED = 10


def resume(app: App, console: Console, choice: str) -> None:
    """List the recent conversations, or continue number `choice` of the list."""
    recent = app.conversations.recent()[:MAX_LISTED]
    choice = choice.strip()
    if not choice:
        if not recent:
            console.print("[dim]No conversation is kept yet.[/]")
            return
        for number, saved in enumerate(recent, 1):
            this = ", this one" if saved.id == app.conversation.id else ""
            turns = f"{len(saved.turns)} request{'s' if len(saved.turns) != 1 else ''}"
            console.print(
                f"{number:>3}  {escape(saved.title)}  [dim]{ago(saved.updated)}, {turns}{this}[/]"
            )
        console.print("[dim]/resume N continues conversation N.[/]")
        return
    if not choice.isdigit() or not 1 <= int(choice) <= len(recent):
        console.print(
            f"[yellow]/resume takes a number from the list (1 to {len(recent)}), "
            f"not {escape(choice)!r}; /resume alone lists them.[/]"
        )
        return
    saved = recent[int(choice) - 1]
    app.conversation.resume(saved)
    last = saved.turns[-1].request if saved.turns else saved.title
    console.print(f"Continuing the conversation that ended with: {escape(last)}")


def ago(when: float, now: float | None = None) -> str:
    """How long ago a time was, in the largest whole unit: 40 s ago, 3 min ago, 2 days ago."""
    seconds = max(int((now if now is not None else time.time()) - when), 0)
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''} ago"
    return f"{seconds} s ago"
