"""The session with the resolver: it asks which, it undoes, it counts what a yes would take.

A scripted backend writes the model's call as a small model wrote it; the files, the undo
journal and the tools are real.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Decision, ToolCall
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Registry, Tool, discover
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.session import Approval, Session, Status


def _session(replies: list[Any], home: Path, **kw: Any) -> tuple[Session, list[Decision]]:
    registry: Registry = discover(None)
    seen: list[Decision] = []

    def yes(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        seen.append(decision)
        return Approval(True, by="person")

    session = Session(
        Planner(ScriptedBackend(replies), registry),
        registry,
        confirmer=yes,
        undo=UndoJournal(home / "undo.jsonl"),
        **kw,
    )
    session.folder = str(home)
    return session, seen


def _files(home: Path) -> Path:
    docs = home / "Documents"
    docs.mkdir()
    (docs / "insurance_letter.pdf").write_bytes(b"x" * 10)
    (docs / "tax_letter.pdf").write_bytes(b"x" * 10)
    (docs / "recipe.txt").write_bytes(b"x" * 10)
    return docs


def test_several_fits_without_a_chooser_are_listed_not_run(isolated_dirs: Path) -> None:
    docs = _files(isolated_dirs)
    call = {"tool": "delete_path", "arguments": {"path": "~/Documents"}}
    session, _ = _session([call], isolated_dirs)
    outcome = session.run("delete the letter in my documents")
    assert outcome.status is Status.DECLINED and not outcome.steps
    assert "1) insurance_letter.pdf" in (outcome.answer or "")
    assert len(list(docs.iterdir())) == 3  # nothing was deleted


def test_the_chooser_picks_and_the_pick_runs(isolated_dirs: Path) -> None:
    docs = _files(isolated_dirs)
    asked: list[Sequence[str]] = []

    def second(question: str, labels: Sequence[str]) -> int:
        asked.append(labels)
        return 1

    call = {"tool": "delete_path", "arguments": {"path": "~/Documents"}}
    session, _ = _session([call, {"answer": "done"}], isolated_dirs, chooser=second)
    outcome = session.run("delete the letter in my documents")
    assert asked == [["insurance_letter.pdf", "tax_letter.pdf"]]
    assert outcome.steps[0].call.arguments == {"path": "~/Documents/tax_letter.pdf"}
    assert sorted(p.name for p in docs.iterdir()) == ["insurance_letter.pdf", "recipe.txt"]
    assert "chosen by the person" in session.last_notes[-1]


def test_oops_undo_that_reverses_the_last_change_and_plans_nothing(isolated_dirs: Path) -> None:
    docs = _files(isolated_dirs)
    move = {"tool": "move_path", "arguments": {"source": "~/Documents", "destination": "~"}}
    session, _ = _session([move, {"answer": "moved"}], isolated_dirs)
    session.run("move the recipe from documents to my home")
    assert (isolated_dirs / "recipe.txt").exists() and not (docs / "recipe.txt").exists()
    outcome = session.run("oops, undo that")  # no model reply is left: a plan would fail
    assert outcome.steps[0].call.tool == "undo"
    assert (docs / "recipe.txt").exists() and not (isolated_dirs / "recipe.txt").exists()
    assert "undone" in (outcome.answer or "")


def test_a_move_of_a_whole_folder_says_how_much_it_takes(isolated_dirs: Path) -> None:
    _files(isolated_dirs)
    move = {"tool": "move_path", "arguments": {"source": "~/Documents", "destination": "~/Old"}}
    session, seen = _session([move, {"answer": "moved"}], isolated_dirs)
    session.run("move my documents folder to ~/Old")
    assert seen[0].footprint == "this moves the whole folder Documents: 3 items, 30 B"
