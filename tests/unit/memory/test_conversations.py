"""Conversations kept in the state folder: bounded, newest first, unreadable as empty."""

from __future__ import annotations

from pathlib import Path

from llmos_shell.calls import ToolCall, TurnOutcome
from llmos_shell.memory.conversations import (
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    ConversationStore,
)
from llmos_shell.planning.planner import Turn


def test_turns_come_back_as_they_were_kept(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.json")
    turns = [
        Turn("list /tmp", ToolCall("list_directory", {"path": "/tmp"}), "2 files", ({"n": 2},)),
        Turn(
            "delete a.txt",
            ToolCall("delete_path", {"path": "a.txt"}),
            None,
            (),
            TurnOutcome.DECLINED,
        ),
    ]
    store.save("abc", turns)
    [saved] = store.recent()
    assert saved.id == "abc" and list(saved.turns) == turns
    assert saved.turns[1].outcome is TurnOutcome.DECLINED  # a no stays a no
    assert saved.title == "list /tmp"


def test_only_the_newest_are_kept_and_results_are_cut(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.json", keep=3)
    for number in range(5):
        store.save(f"c{number}", [Turn(f"request {number}", None, "ok")])
    store.save("c2", [Turn("request 2, again", None, "ok")])  # an old one, updated
    assert [c.id for c in store.recent()] == ["c2", "c4", "c3"]
    huge = {"rows": list(range(10_000)), "text": "x" * 100_000}
    store.save("big", [Turn("big", ToolCall("t", {}), None, (huge,))])
    [kept] = store.last().turns[0].results  # type: ignore[union-attr]
    assert len(kept["rows"]) == MAX_LIST_ITEMS and len(kept["text"]) == MAX_TEXT_CHARS


def test_a_file_that_cannot_be_read_is_no_conversation(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    store = ConversationStore(path)
    assert store.recent() == [] and store.last() is None
    store.save("new", [Turn("hi", None, "hello")])  # and a new one replaces it
    assert [c.id for c in store.recent()] == ["new"]
