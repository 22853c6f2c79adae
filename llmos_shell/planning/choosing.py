"""Asking which thing was meant when several fit, and saying what an undo did.

The resolver leaves candidates on a call when the words fit several things equally; the
front end's chooser (a numbered question at a terminal) picks one. Without one, nothing is
guessed: the request is answered with the numbered choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.planning.replies import Action

# Asks which of several things was meant: (question, labels) -> the index chosen, or None.
Chooser = Callable[[str, Sequence[str]], "int | None"]


@dataclasses.dataclass(frozen=True)
class Choice:
    """The action with the person's picks put in, or the answer that lists the choices."""

    action: Action | None
    answer: str | None = None
    notes: tuple[str, ...] = ()


def choose(action: Action, chooser: Chooser | None) -> Choice:
    """Each argument with candidates set to the one the chooser picks; without a chooser (or
    with no pick) no call, and an answer listing the choices."""
    assert action.call is not None
    args = dict(action.call.arguments)
    notes: list[str] = []
    for name, found in action.candidates.items():
        labels = [c.label for c in found]
        question = f"Several things fit {name} of {action.call.tool}; which one?"
        pick = chooser(question, labels) if chooser is not None else None
        if pick is None or not 0 <= pick < len(found):
            listed = "; ".join(f"{i}) {label}" for i, label in enumerate(labels, 1))
            return Choice(None, f"Several things fit {name}: {listed}. Say which one.")
        args[name] = found[pick].value
        notes.append(f"{name}: {found[pick].value}, chosen by the person")
    call = ToolCall(action.call.tool, args)
    return Choice(dataclasses.replace(action, call=call, candidates={}), None, tuple(notes))


def candidates_json(action: Action) -> dict[str, list[dict[str, Any]]]:
    """The candidates of a planned call as `plan --json` lists them."""
    return {
        name: [{"value": c.value, "label": c.label, "score": c.score} for c in found]
        for name, found in action.candidates.items()
    }


def undo_answer(data: Any) -> str:
    """One line saying what the undo reversed, or why it could not."""
    items = data.get("results", []) if isinstance(data, dict) else []
    said = [
        f"undone: {i.get('detail')}" if i.get("undone") else f"not undone: {i.get('reason')}"
        for i in items
    ]
    return "; ".join(said) or "Nothing to undo: no change is recorded."
