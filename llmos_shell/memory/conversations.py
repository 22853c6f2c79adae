"""Conversations kept between processes, so `llmos --continue` and `/resume` pick one up.

The last few conversations live in one JSON file in the state folder, newest last, each
with its last turns: the request, the first call and how it ended (ran, failed, declined,
answered), and what it returned, cut to a bound. Nothing in it approves anything: a call
that was declined is kept as declined, and every call planned from it is judged again.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmos_shell.calls import RequestOutcome, ToolCall, TurnOutcome
from llmos_shell.planning.planner import Turn

MAX_CONVERSATIONS = 20  # kept in the file; older ones are dropped
MAX_LIST_ITEMS = 100  # of each list in a kept result
MAX_TEXT_CHARS = 2000  # of each string in a kept result
FORMAT = 1


@dataclass(frozen=True)
class SavedConversation:
    """One kept conversation: its id, when it last changed, and its turns."""

    id: str
    updated: float
    turns: tuple[Turn, ...]

    @property
    def title(self) -> str:
        """Its first kept request, as a person recognises it."""
        return self.turns[0].request if self.turns else "(empty)"


def new_id() -> str:
    """A fresh conversation id."""
    return uuid.uuid4().hex[:12]


class ConversationStore:
    """The kept conversations in one file; a file that cannot be read counts as empty."""

    def __init__(self, path: Path, keep: int = MAX_CONVERSATIONS) -> None:
        self.path = path
        self.keep = keep

    def recent(self) -> list[SavedConversation]:
        """The kept conversations, newest first."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            rows = raw["conversations"] if raw.get("format") == FORMAT else []
            kept = [_conversation(row) for row in rows]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []
        return sorted(kept, key=lambda c: -c.updated)

    def last(self) -> SavedConversation | None:
        """The conversation that changed last, if any is kept."""
        found = self.recent()
        return found[0] if found else None

    def save(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        """Keep `turns` as the conversation `conversation_id` (written whole, atomically)."""
        others = [c for c in self.recent() if c.id != conversation_id]
        mine = SavedConversation(conversation_id, time.time(), tuple(turns))
        kept = [mine, *others][: self.keep]
        body = {"format": FORMAT, "conversations": [_row(c) for c in reversed(kept)]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_text(json.dumps(body, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(partial, self.path)


def _row(conversation: SavedConversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "updated": conversation.updated,
        "turns": [
            {
                "request": turn.request,
                "call": turn.call.to_json() if turn.call else None,
                "answer": turn.answer,
                "results": [_bounded(r) for r in turn.results],
                "outcome": TurnOutcome(turn.outcome).value,
            }
            for turn in conversation.turns
        ],
    }


def _conversation(row: dict[str, Any]) -> SavedConversation:
    turns = []
    for turn in row["turns"]:
        call = turn.get("call")
        turns.append(
            Turn(
                str(turn["request"]),
                ToolCall(call["tool"], dict(call.get("arguments") or {})) if call else None,
                turn.get("answer"),
                tuple(turn.get("results") or ()),
                TurnOutcome(turn.get("outcome") or "ok"),
            )
        )
    return SavedConversation(str(row["id"]), float(row["updated"]), tuple(turns))


def _bounded(data: Any, depth: int = 0) -> Any:
    """A result cut to a size worth keeping: lists and strings shortened, depth limited."""
    if depth > 6:
        return None
    if isinstance(data, dict):
        return {str(k): _bounded(v, depth + 1) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_bounded(v, depth + 1) for v in list(data)[:MAX_LIST_ITEMS]]
    if isinstance(data, str):
        return data[:MAX_TEXT_CHARS]
    if data is None or isinstance(data, (bool, int, float)):
        return data
    return str(data)[:MAX_TEXT_CHARS]


class Conversation:
    """The last few requests of one conversation, so follow-ups can refer to them; with a
    store, kept after each request, so another process can continue it."""

    def __init__(self, keep: int = 2, *, store: ConversationStore | None = None) -> None:
        self.keep = keep
        self.turns: list[Turn] = []
        self.store = store
        self.id = new_id()
        self.notices: list[str] = []

    def add(self, outcome: RequestOutcome) -> None:
        """Remember a finished request and its first call (or its answer)."""
        first = outcome.steps[0].call if outcome.steps else None
        results = tuple(
            step.result.data for step in outcome.steps if step.result is not None and step.result.ok
        )
        ran = outcome.steps[0].result if outcome.steps else None
        how = (
            TurnOutcome.ANSWERED
            if first is None
            else TurnOutcome.DECLINED
            if ran is None
            else TurnOutcome.OK
            if ran.ok
            else TurnOutcome.FAILED
        )
        turn = Turn(outcome.request, first, outcome.answer, results, how)
        self.turns = [*self.turns, turn][-self.keep :]
        if self.store is not None:
            try:
                self.store.save(self.id, self.turns)
            except OSError as exc:
                where = self.store.path
                self.notices.append(
                    f"the conversation is not kept in {where} ({exc.strerror or exc})"
                )

    def resume(self, saved: SavedConversation) -> None:
        """Continue a kept conversation: its turns, and later ones kept under its id."""
        self.id = saved.id
        self.turns = list(saved.turns)[-self.keep :]

    def clear(self) -> None:
        """Forget everything (a new topic, kept as a new conversation)."""
        self.turns = []
        self.id = new_id()
