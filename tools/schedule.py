"""Automations in plain words: propose one; the person sees its calls and approves it."""

from __future__ import annotations

from typing import Any

from llmos_shell.calls import ExecutionContext
from llmos_shell.errors import ToolError
from llmos_shell.registry import tool


@tool(
    headline=[
        ("", "{action}: {when}, first at {next_run} (not created until you say yes)"),
    ],
    in_process=True,  # its drafts are read by this shell after the call
    examples=[
        (
            "every weekday at 9 show me disk usage",
            {"when": "every weekday at 9", "action": "show me disk usage"},
        ),
        (
            "in 20 minutes remind me to stretch",
            {"when": "in 20 minutes", "action": "remind me to stretch"},
        ),
        (
            "every night at 2 delete files older than 30 days in ~/Downloads/tmp",
            {
                "when": "every night at 2",
                "action": "delete files older than 30 days in ~/Downloads/tmp",
            },
        ),
    ],
)
def schedule(when: str, action: str, context: ExecutionContext) -> dict[str, Any]:
    """Set up an automation that does something later or repeatedly, after the person approves.

    Args:
        when: when it runs, in words: "every weekday at 9", "in 20 minutes", "every night at 2"
        action: what it does, in words: "show me disk usage", "remind me to stretch"
    """
    from llmos_shell.scheduler.drafts import offer

    services = context.services
    if services is None or services.drafts is None:
        raise ToolError("automations can only be proposed inside a llmos shell")
    return offer(services.drafts, when, action, services.now())
