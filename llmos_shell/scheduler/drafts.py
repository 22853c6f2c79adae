"""Automations the `schedule` tool proposed, waiting for the front end to ask the person.

The tool runs inside the pipeline's worker thread under the tool time limit, so it cannot ask
anyone or plan with the model there. It reads the time (deterministically, so a bad phrase
goes back to the model as an error) and leaves a draft; the shell, or the one-shot command,
then plans the action, shows the calls and their risk, and asks once. A draft that nobody
approves is never created.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmos_shell.errors import LlmosError, ToolError


@dataclass(frozen=True)
class Draft:
    """A proposed automation: when, and what, in the words the model passed."""

    when: str
    action: str


def offer(drafts: deque[Draft], when: str, action: str, now: datetime) -> dict[str, Any]:
    """Read the time, keep the draft in `drafts`, and say what happens next (for the model)."""
    from llmos_shell.scheduler import phrases, triggers
    from llmos_shell.scheduler.spec import shown_moment

    if not action.strip():
        raise ToolError("say what the automation should do, e.g. 'show me disk usage'")
    try:
        trigger = phrases.read_when(when, now)
        runs = triggers.checked(trigger, now)
    except LlmosError as exc:
        raise ToolError(str(exc)) from None
    drafts.append(Draft(when.strip(), action.strip()))  # a bounded deque drops the oldest
    return {
        "when": trigger.text,
        "next_run": shown_moment(runs[0], now),
        "action": action.strip(),
        "status": "not created yet: the person is shown its calls and their risk, and asked",
    }


def take(drafts: deque[Draft]) -> list[Draft]:
    """The drafts proposed since the last call, oldest first."""
    taken = []
    while True:
        try:
            taken.append(drafts.popleft())
        except IndexError:
            return taken
