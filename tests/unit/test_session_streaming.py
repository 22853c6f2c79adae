"""The answer streamed through the session: shown as the check vouches for it, never more.

A scripted backend stands in for the model (it streams its reply five characters at a time
and checks `cancel` between pieces, as the real backends do between tokens).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Risk
from llmos_shell.planning.headlines import GENERAL_KNOWLEDGE
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Registry, tool
from llmos_shell.session import Session, SilentEvents, Status


@tool(risk=Risk.READ_ONLY, headline="{count} notes in {folder}")
def count_notes(folder: str) -> dict[str, Any]:
    """Count the notes in a folder."""
    return {"folder": folder, "count": 3, "newest": "plan.txt", "newest_size": "2.1 KB"}


class Shown(SilentEvents):
    """Events that keep each piece of the answer as it is shown, and when."""

    def __init__(self, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.pieces: list[str] = []
        self.replies_left: list[int] = []  # the backend's replies left when each was shown
        self.cancel: threading.Event | None = None
        self.cancel_after = 0

    def answer_text(self, text: str) -> None:
        self.pieces.append(text)
        self.replies_left.append(len(self.backend.replies))
        if self.cancel is not None and len(self.pieces) >= self.cancel_after:
            self.cancel.set()  # Ctrl-C while the answer streams


def session_on(backend: ScriptedBackend) -> Session:
    registry = Registry()
    registry.add(count_notes, source="test")
    return Session(Planner(backend, registry), registry)


def test_a_knowledge_answer_streams_sentence_by_sentence_while_the_model_writes() -> None:
    text = (
        "A symlink is a small file that points at another path. "
        "Programs follow it to the target. "
        "Removing it leaves the target alone."
    )
    backend = ScriptedBackend([{"answer": text}])
    events = Shown(backend)
    cancel = threading.Event()
    events.cancel, events.cancel_after = cancel, 2
    outcome = session_on(backend).run("what is a symlink?", events, stream=True, cancel=cancel)
    # The second sentence showed while the model still wrote the third; Ctrl-C then stopped it.
    assert outcome.status is Status.CANCELLED
    assert events.pieces == [
        f"{GENERAL_KNOWLEDGE} A symlink is a small file that points at another path.",
        " Programs follow it to the target.",
    ]


def test_a_whole_knowledge_answer_streamed_is_the_answer_kept() -> None:
    text = "A symlink points at another path. Use `ln -s a b` to make one. It costs no space."
    backend = ScriptedBackend([{"answer": text}])
    events = Shown(backend)
    outcome = session_on(backend).run("what is a symlink?", events, stream=True)
    assert len(events.pieces) == 2
    assert "".join(events.pieces) == outcome.answer
    assert "ln -s" not in (outcome.answer or "")  # advice to run a command is never shown


def test_after_a_call_the_headline_shows_before_the_model_answers(tmp_path: Path) -> None:
    backend = ScriptedBackend(
        [
            {"tool": "count_notes", "arguments": {"folder": str(tmp_path)}},
            {"answer": "The newest is plan.txt at 2.1 KB. It holds 40 notes. Bye."},
        ]
    )
    events = Shown(backend)
    outcome = session_on(backend).run(f"count the notes in {tmp_path}", events, stream=True)
    headline = f"3 notes in {tmp_path}"
    assert events.pieces[0] == headline
    assert events.replies_left[0] == 1  # shown before the model wrote its answer
    assert "".join(events.pieces) == outcome.answer
    assert outcome.answer == f"{headline}. The newest is plan.txt at 2.1 KB. Bye."
    assert "40" not in outcome.answer  # a count the result does not hold is never shown


def test_without_streaming_the_same_answer_comes_whole(tmp_path: Path) -> None:
    replies: list[Any] = [
        {"tool": "count_notes", "arguments": {"folder": str(tmp_path)}},
        {"answer": "The newest is plan.txt at 2.1 KB. It holds 40 notes. Bye."},
    ]
    streamed = ScriptedBackend(list(replies))
    live = Shown(streamed)
    first = session_on(streamed).run(f"count the notes in {tmp_path}", live, stream=True)
    whole_backend = ScriptedBackend(list(replies))
    whole = Shown(whole_backend)
    second = session_on(whole_backend).run(f"count the notes in {tmp_path}", whole)
    assert whole.pieces == [second.answer]
    assert first.answer == second.answer and len(live.pieces) > 1


def test_when_nothing_the_model_says_holds_the_summary_stands_in(tmp_path: Path) -> None:
    from llmos_shell.registry import Registry as Plain

    @tool(risk=Risk.READ_ONLY)
    def count_things(folder: str) -> dict[str, Any]:
        """Count things (no headline)."""
        return {"folder": folder, "count": 3}

    registry = Plain()
    registry.add(count_things, source="test")
    backend = ScriptedBackend(
        [
            {"tool": "count_things", "arguments": {"folder": str(tmp_path)}},
            {"answer": "There are 12 things. Done."},
        ]
    )
    events = Shown(backend)
    outcome = Session(Planner(backend, registry), registry).run(
        f"count things in {tmp_path}", events, stream=True
    )
    assert events.pieces == [outcome.answer]
    assert outcome.answer is not None and "12" not in outcome.answer
