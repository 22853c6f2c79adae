"""Reading the undo journal back: its lines as actions, and what the journal alone says.

An action is a call with the changes its tool recorded, or a change recorded outside a
session (a tool called as a plain function). Whether the file system still allows undoing it
is `reversal.problem`'s question; this module answers from the journal only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmos_shell.safety.reversal import Change


@dataclass
class Record:
    """One action: a call and the changes it recorded, or a change made outside a session."""

    id: str
    time: str
    request: str = ""
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    shell: bool = False
    reversible: bool = True
    ended: bool = False
    ok: bool = False
    changes: list[Change] = field(default_factory=list)
    undone: str | None = None  # what the undo did
    passed: str | None = None  # why an undo passed over it
    undoing: bool = False  # an undo of it began

    @property
    def changes_made(self) -> list[Change]:
        """The changes that left something to reverse."""
        return [change for change in self.changes if not change.changed_nothing]

    @property
    def visible(self) -> bool:
        """False for an action known to have changed nothing (a tool that failed early)."""
        if self.changes:
            return bool(self.changes_made)
        return not self.ended or self.ok or self.shell

    def describe(self) -> str:
        """What the action did, in a few words."""
        made = self.changes_made
        if made:
            return "; ".join(change.describe() for change in made)
        if self.shell:
            command = next((v for v in self.arguments.values() if isinstance(v, str)), "")
            return f"{self.tool}: {command}"
        shown = ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in self.arguments.items())
        return f"{self.tool}({shown})"

    def recorded_reason(self, store: Path) -> str | None:
        """Why the journal itself says this action cannot be undone, or None."""
        if self.undoing:
            return "an undo of it was cut short, so what it left is unknown"
        if not self.changes:
            if not self.ended:
                return "it never finished (llmos stopped while it ran, or it is still running)"
            if self.shell:
                return "llmos cannot know what a shell command changed"
            if not self.reversible:
                return f"{self.tool} cannot be undone"
            return f"{self.tool} keeps no record of what it changed"
        for change in self.changes_made:
            if change.irreversible:
                return change.irreversible
            if change.state == "begun":
                reason = (
                    "it never finished (llmos stopped while it ran), so what it left is unknown"
                )
                if change.kept:
                    reason += f"; the previous contents are kept in {store / change.kept}"
                return reason
            if change.state == "failed" and change.action in ("move", "trash"):
                return f"it failed part way ({change.error}), so what it left is unknown"
            if change.dropped:
                return change.dropped
        return None


def assemble(events: list[dict[str, Any]]) -> list[Record]:
    """The journal's lines as actions, oldest first."""
    records: dict[str, Record] = {}
    changes: dict[str, Change] = {}
    owner: dict[str, str] = {}  # change id -> the record that holds it
    for event in events:
        try:
            _apply(event, records, changes, owner)
        except (TypeError, ValueError, AttributeError):
            continue  # a line damaged by hand: skipped, as one that does not parse is
    for key, change in changes.items():
        records[owner[key]].changes.append(change)
    for record in records.values():
        if record.changes and record.changes[0].id == record.id:
            record.ok = all(change.state == "done" for change in record.changes)
    return list(records.values())


def _apply(
    event: dict[str, Any],
    records: dict[str, Record],
    changes: dict[str, Change],
    owner: dict[str, str],
) -> None:
    """File one journal line under its action."""
    kind, key = event["event"], event["id"]
    if kind == "call":
        records[key] = Record(
            id=key,
            time=str(event.get("time", "")),
            request=str(event.get("request", "")),
            tool=str(event.get("tool", "")),
            arguments=_mapping(event.get("arguments")) or {},
            shell=bool(event.get("shell")),
            reversible=bool(event.get("reversible", True)),
        )
    elif kind == "change":
        change = _change(event)
        if change is None:
            return
        changes[key] = change
        parent = change.parent if change.parent in records else None
        if parent is None:
            records[key] = Record(id=key, time=change.time, ended=True, ok=True)
        owner[key] = parent or key
    elif kind == "end" and key in records:
        records[key].ended, records[key].ok = True, bool(event.get("ok"))
    elif kind in ("done", "failed") and key in changes:
        changes[key] = replace(
            changes[key],
            state=kind,
            after=_mapping(event.get("after")),
            error=str(event.get("error", "")),
        )
    elif kind == "dropped" and key in changes:
        changes[key] = replace(changes[key], dropped=str(event.get("reason", "")))
    elif kind == "undoing" and key in records:
        records[key].undoing = True
    elif kind == "undone" and key in records:
        records[key].undone = str(event.get("detail", ""))
    elif kind == "passed" and key in records:
        records[key].passed = str(event.get("reason", ""))


def _mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _change(event: dict[str, Any]) -> Change | None:
    action, path = _text(event.get("action")), _text(event.get("path"))
    if action is None or path is None:
        return None
    try:
        return Change(
            id=event["id"],
            action=action,
            path=path,
            parent=_text(event.get("parent")),
            time=str(event.get("time", "")),
            source=str(event.get("source", "")),
            trashed=str(event.get("trashed", "")),
            kept=_text(event.get("kept")),
            size=event["size"] if isinstance(event.get("size"), int) else None,
            link=_text(event.get("link")),
            irreversible=_text(event.get("irreversible")),
            before=_mapping(event.get("before")),
            replaced=_mapping(event.get("replaced")),
        )
    except (KeyError, TypeError):
        return None
