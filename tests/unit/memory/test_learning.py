"""Memory learns only what the person confirmed: the next request's verdict on an episode."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from llmos_shell.memory.learning import Learning, is_junk
from llmos_shell.memory.service import Memory
from llmos_shell.memory.store import LocalStore
from llmos_shell.retrieval.embeddings import shared_embedder

LISTING = [{"tool": "list_directory", "arguments": {"path": "~/Downloads"}}]


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    store = LocalStore(tmp_path / "memory", shared_embedder())
    yield Memory(store, pending=tmp_path / "state" / "memory-pending.json")
    store.close()


def episodes(memory: Memory) -> list[str]:
    return [r.request for r in memory.records("episode")]


def test_an_episode_waits_for_the_next_request_and_is_then_confirmed(memory: Memory) -> None:
    memory.learning.ran("what is in my downloads", LISTING, approved=False)
    assert episodes(memory) == []  # not an example before the person moved on
    assert memory.learning.settle("how much disk space is free?") == "confirmed"
    assert episodes(memory) == ["what is in my downloads"]
    assert memory.learning.settle("anything") is None  # settled once


def test_a_rephrase_demotes_the_episode(memory: Memory) -> None:
    move = "move the recipe from downloads into documents"
    memory.learning.ran(move, LISTING, approved=False)
    assert memory.learning.settle("mv Downloads/recipe.txt Documents/") == "demoted"
    assert episodes(memory) == []


def test_an_approved_episode_is_kept_at_once_and_forgotten_when_undone(memory: Memory) -> None:
    delete = [{"tool": "delete_path", "arguments": {"path": "todo.txt"}}]
    memory.learning.ran("delete todo.txt", delete, approved=True)
    assert episodes(memory) == ["delete todo.txt"]
    assert memory.learning.settle("oops, undo that", undo=True) == "demoted"
    assert episodes(memory) == []


def test_the_same_words_again_or_a_follow_up_confirm(memory: Memory) -> None:
    memory.learning.ran("what is in my downloads", LISTING, approved=False)
    assert memory.learning.settle("what is in my downloads") == "confirmed"
    memory.learning.ran("list the files in ~/Downloads", LISTING, approved=False)
    assert memory.learning.settle("now the same for Documents") == "confirmed"


def test_the_verdict_crosses_processes_through_the_pending_file(
    memory: Memory, tmp_path: Path
) -> None:
    memory.learning.ran("what is in my downloads", LISTING, approved=False)
    other = Learning(memory, tmp_path / "state" / "memory-pending.json")  # a new process
    assert other.pending() is not None
    assert other.settle("show me what's inside the downloads folder") == "demoted"
    assert memory.learning.pending() is None


def test_a_late_next_request_is_no_verdict(memory: Memory, tmp_path: Path) -> None:
    memory.learning.ran("what is in my downloads", LISTING, approved=False)
    path = tmp_path / "state" / "memory-pending.json"
    data = json.loads(path.read_text())
    data["time"] = time.time() - 7200
    path.write_text(json.dumps(data))
    assert memory.learning.settle("show me what's inside the downloads folder") == "confirmed"


def test_an_undo_forgets_the_episodes_of_the_calls_it_reversed(memory: Memory) -> None:
    call = {"tool": "move_path", "arguments": {"source": "a.txt", "destination": "b.txt"}}
    memory.record_episode("rename a.txt to b.txt", [call])
    memory.record_episode("what is in my downloads", LISTING)
    gone = memory.learning.undone(
        [{"undone": True, "request": "Rename a.txt to b.txt", "call": call}]
    )
    assert len(gone) == 1 and episodes(memory) == ["what is in my downloads"]


@pytest.mark.parametrize(
    ("request_", "junk"),
    [
        ("list my downloads", False),
        ("delete the ubuntu iso in my downloads, its huge", False),
        ("Traceback (most recent call last):\n  File x.py", True),
        ("3f9a1c 88e0b2 9f7d1e 4c2b8a 77aa01", True),
        ("word " * 80, True),
    ],
)
def test_pasted_text_is_never_an_episode(memory: Memory, request_: str, junk: bool) -> None:
    assert is_junk(request_) is junk
    memory.learning.ran(request_, LISTING, approved=True)
    assert episodes(memory) == ([] if junk else [request_])
