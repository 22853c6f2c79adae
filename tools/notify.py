"""Telling the person something: a desktop notification where there is one, and the inbox."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

from llmos_shell.calls import ExecutionContext, Risk
from llmos_shell.errors import LlmosError, ToolError
from llmos_shell.registry import tool

_TIMEOUT_S = 5


@tool(
    headline=[
        ("", "notified: {args.message}"),
    ],
    in_process=True,  # the inbox is the running shell's job store, lent through its context
    risk=Risk.WRITE,
    examples=[
        ("remind me to stretch", {"message": "stretch", "title": "Reminder"}),
        ("notify me that the backup is done", {"message": "the backup is done"}),
        ("show a notification saying time for lunch", {"message": "time for lunch"}),
    ],
)
def notify(message: str, context: ExecutionContext, title: str = "llmos") -> dict[str, Any]:
    """Show the person a message: a desktop notification, and always a line in the llmos inbox.

    Args:
        message: what to tell the person
        title: a short heading for it
    """
    if not message.strip():
        raise ToolError("the message is empty; say what to tell the person")
    from llmos_shell.scheduler.inbox import deliver

    services = context.services
    if services is None or services.config is None:
        raise ToolError("the inbox is not available here: this call runs outside a llmos shell")
    try:
        number = deliver(services.config, title, message)
    except LlmosError as exc:
        raise ToolError(f"the message could not be kept in the inbox: {exc}") from None
    return {"inbox": number, "desktop": _desktop(title, message)}


def _desktop(title: str, message: str) -> str:
    """Show a desktop notification; says "shown" or why not."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {_quoted(message)} with title {_quoted(title)}"
        command = ["osascript", "-e", script]
    elif shutil.which("notify-send"):
        if not any(
            os.environ.get(v) for v in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")
        ):
            return "not shown: no desktop session here (the inbox has it)"
        command = ["notify-send", "--app-name=llmos", title, message]
    else:
        return "not shown: no desktop notifier here (the inbox has it)"
    try:
        done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not shown: {command[0]} failed ({exc}); the inbox has it"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return (
            f"not shown: {command[0]} said {why[0] if why else done.returncode}; the inbox has it"
        )
    return "shown"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
