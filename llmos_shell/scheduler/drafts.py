"""Automations the `schedule` tool proposed, waiting for the front end to ask the person.

The tool runs inside the pipeline's worker thread under the tool time limit, so it cannot ask
anyone or plan with the model there. It reads the time (deterministically, so a bad phrase
goes back to the model as an error) and leaves a draft; the shell, or the one-shot command,
then plans the action, shows the calls and their risk, and asks once. A draft that nobody
approves is never created.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from llmos_shell.errors import LlmosError, ToolError

MAX_DRAFTS = 10


@dataclass(frozen=True)
class Draft:
    """A proposed automation: when, and what, in the words the model passed."""

    when: str
    action: str


_drafts: list[Draft] = []
_lock = threading.Lock()


def offer(when: str, action: str) -> dict[str, Any]:
    """Read the time, keep the draft, and say what happens next (for the model)."""
    from llmos_shell.config import load_config
    from llmos_shell.scheduler import phrases, triggers
    from llmos_shell.scheduler.spec import local_zone_name, shown_moment, zone

    if not action.strip():
        raise ToolError("say what the automation should do, e.g. 'show me disk usage'")
    try:
        now = datetime.now(zone(local_zone_name(load_config().settings.timezone)))
        trigger = phrases.read_when(when, now)
        runs = triggers.checked(trigger, now)
    except LlmosError as exc:
        raise ToolError(str(exc)) from None
    with _lock:
        _drafts.append(Draft(when.strip(), action.strip()))
        del _drafts[:-MAX_DRAFTS]
    return {
        "when": trigger.text,
        "next_run": shown_moment(runs[0], now),
        "action": action.strip(),
        "status": "not created yet: the person is shown its calls and their risk, and asked",
    }


def pending() -> bool:
    """Whether any draft waits."""
    with _lock:
        return bool(_drafts)


def take() -> list[Draft]:
    """The drafts proposed since the last call, oldest first."""
    with _lock:
        taken = list(_drafts)
        _drafts.clear()
    return taken
