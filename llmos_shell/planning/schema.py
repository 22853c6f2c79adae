"""The JSON Schema of one planning step: a call of an offered tool, or a plain answer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmos_shell.registry import Tool


def action_schema(tools: Iterable[Tool], *, allow_answer: bool = True) -> dict[str, Any]:
    """JSON Schema of one action: a call of one of `tools`, or (if allowed) an answer."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": item.name},
                "arguments": item.parameters_schema(),
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for item in tools
    ]
    if allow_answer:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    if not options:
        raise ValueError("an action schema needs at least one tool or the answer")
    return options[0] if len(options) == 1 else {"oneOf": options}
