"""What a memory is: a fact the person stated, an episode that worked, or a correction.

One record type for all three kinds, written to and read from one JSON object per line
(the export format): `{"id", "kind", "text", "request", "calls", "created", "source"}`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

KINDS = ("fact", "episode", "correction")
FIELDS = ("id", "kind", "text", "request", "calls", "created", "source")
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class MemoryRecord:
    """One memory. `calls` are `{"tool", "arguments"}` objects: what ran for an episode, and
    for a correction the edited call first and the planned one after it."""

    id: str
    kind: str
    text: str
    request: str = ""
    calls: tuple[dict[str, Any], ...] = ()
    created: str = ""
    source: str = "person"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The record as one export line's object."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "request": self.request,
            "calls": [dict(call) for call in self.calls],
            "created": self.created,
            "source": self.source,
        }

    def line(self) -> str:
        """The record as one JSON Lines line (no newline)."""
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=False)

    @property
    def call(self) -> dict[str, Any] | None:
        """The call this memory teaches: what ran (episode) or the person's edit (correction)."""
        return dict(self.calls[0]) if self.calls and self.kind != "fact" else None

    def short(self, limit: int = 70) -> str:
        """The text cut to one short line, for lists and the line under a plan."""
        text = " ".join(self.text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def new_id() -> str:
    """A short random id, easy to type: `m-` and eight hex digits."""
    return f"m-{secrets.token_hex(4)}"


def now_iso() -> str:
    """The current time in ISO 8601, UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def call_text(call: dict[str, Any]) -> str:
    """A call as a person reads it: name(arg="value", ...)."""
    args = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}"
        for key, value in (call.get("arguments") or {}).items()
    )
    return f"{call.get('tool')}({args})"


def fact(text: str, *, source: str = "person") -> MemoryRecord:
    """A fact or preference the person stated."""
    return MemoryRecord(new_id(), "fact", _clean(text), created=now_iso(), source=source)


def episode(request: str, calls: list[dict[str, Any]], *, source: str = "shell") -> MemoryRecord:
    """A request whose calls ran and succeeded, with those calls."""
    text = f"{request.strip()} → " + "; ".join(call_text(c) for c in calls)
    return MemoryRecord(
        new_id(),
        "episode",
        _clean(text),
        request=request.strip(),
        calls=tuple(_plain_call(c) for c in calls),
        created=now_iso(),
        source=source,
    )


def correction(
    request: str, planned: dict[str, Any], edited: dict[str, Any], *, source: str = "shell"
) -> MemoryRecord:
    """A planned call the person edited before running it: the edit first, the plan second."""
    text = f"{request.strip()} → {call_text(edited)} (instead of {call_text(planned)})"
    return MemoryRecord(
        new_id(),
        "correction",
        _clean(text),
        request=request.strip(),
        calls=(_plain_call(edited), _plain_call(planned)),
        created=now_iso(),
        source=source,
    )


def _clean(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT_CHARS]


def _plain_call(call: dict[str, Any]) -> dict[str, Any]:
    return {"tool": str(call["tool"]), "arguments": dict(call.get("arguments") or {})}


def from_json(data: Any) -> MemoryRecord:
    """A record from one export line's object; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("a memory must be a JSON object")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(FIELDS)}"
        )
    for name in ("id", "kind", "text"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ValueError(f'"{name}" must be a non-empty string')
    if data["kind"] not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}, not {data["kind"]!r}')
    for name in ("request", "created", "source"):
        if name in data and not isinstance(data[name], str):
            raise ValueError(f'"{name}" must be a string')
    created = data.get("created") or now_iso()
    try:
        datetime.fromisoformat(created)
    except ValueError:
        raise ValueError(f'"created" must be an ISO 8601 time, not {created!r}') from None
    calls = data.get("calls") or []
    if not isinstance(calls, list) or not all(
        isinstance(c, dict)
        and isinstance(c.get("tool"), str)
        and isinstance(c.get("arguments", {}), dict)
        and set(c) <= {"tool", "arguments"}
        for c in calls
    ):
        raise ValueError('"calls" must be a list of {"tool": NAME, "arguments": {...}} objects')
    if data["kind"] != "fact" and not calls:
        raise ValueError(f"a {data['kind']} needs its calls")
    return MemoryRecord(
        id=data["id"].strip(),
        kind=data["kind"],
        text=data["text"],
        request=data.get("request") or "",
        calls=tuple(_plain_call(c) for c in calls),
        created=created,
        source=data.get("source") or "import",
    )


def search_text(record: MemoryRecord) -> str:
    """What a record is found by: a fact by its words, an episode or correction by its request."""
    return record.request if record.kind != "fact" and record.request else record.text
