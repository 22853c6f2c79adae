"""A write over existing content is destructive in every tool, as `>` is in the shell."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import Approval, Decision, Risk, ToolCall, Verdict
from llmos_shell.registry import CallRisk, Registry, Tool, discover, tool
from llmos_shell.safety.approval import unattended
from llmos_shell.safety.policy import PolicyOptions, decide
from llmos_shell.session import Session


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover()


def risk_of(registry: Registry, name: str, folder: Path, **arguments: Any) -> Decision:
    return decide(ToolCall(name, arguments), registry.get(name), cwd=str(folder))


def test_writing_a_new_or_empty_file_is_a_write_replacing_text_is_destructive(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("the person's notes\n")
    (tmp_path / "empty.txt").write_text("")
    new = risk_of(registry, "write_file", tmp_path, path="fresh.txt", content="x")
    empty = risk_of(registry, "write_file", tmp_path, path="empty.txt", content="x")
    over = risk_of(registry, "write_file", tmp_path, path="notes.txt", content="summary")
    append = risk_of(
        registry, "write_file", tmp_path, path="notes.txt", content="more", mode="append"
    )
    assert (new.risk, empty.risk, append.risk) == (Risk.WRITE,) * 3
    assert over.risk is Risk.DESTRUCTIVE and over.verdict is Verdict.ASK
    assert "overwrite notes.txt" in over.reason
    assert unattended(over, PolicyOptions(yes_writes=True).ceiling) is None
    assert unattended(over, PolicyOptions(yes_destructive=True).ceiling) is True


def test_a_copy_or_move_with_overwrite_onto_a_file_is_destructive(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "a.txt").write_text("old a")
    for name in ("copy_path", "move_path"):
        plain = risk_of(registry, name, tmp_path, source="a.txt", destination="b.txt")
        onto = risk_of(
            registry, name, tmp_path, source="a.txt", destination="b.txt", overwrite=True
        )
        into = risk_of(registry, name, tmp_path, source="a.txt", destination="box", overwrite=True)
        fresh = risk_of(registry, name, tmp_path, source="a.txt", destination="c", overwrite=True)
        assert plain.risk is Risk.WRITE  # the tool refuses an existing destination
        assert onto.risk is Risk.DESTRUCTIVE and into.risk is Risk.DESTRUCTIVE
        assert fresh.risk is Risk.WRITE


def test_a_plugin_write_tool_is_judged_by_its_path_argument_or_its_own_hook(
    tmp_path: Path,
) -> None:
    @tool(risk=Risk.WRITE, kinds={"target": "path"})
    def save_note(target: str, text: str) -> str:
        """Save a note to a file."""
        return target

    def broken(arguments: Mapping[str, Any], folder: Path) -> CallRisk | None:
        raise OSError("disk gone")

    @tool(risk=Risk.WRITE, risk_for=broken)
    def odd_write(target: str) -> str:
        """Write something somewhere."""
        return target

    (tmp_path / "kept.txt").write_text("keep me")
    on_existing = decide(
        ToolCall("save_note", {"target": "kept.txt", "text": "x"}), save_note, cwd=str(tmp_path)
    )
    on_new = decide(
        ToolCall("save_note", {"target": "new.txt", "text": "x"}), save_note, cwd=str(tmp_path)
    )
    assert on_existing.risk is Risk.DESTRUCTIVE and on_new.risk is Risk.WRITE
    unknown = decide(ToolCall("odd_write", {"target": "kept.txt"}), odd_write, cwd=str(tmp_path))
    assert unknown.risk is Risk.UNKNOWN
    assert unattended(unknown, PolicyOptions(yes_destructive=True).ceiling) is None


def test_summarize_never_overwrites_the_file_under_yes(registry: Registry, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nline two\n")
    asked: list[Decision] = []

    def person_says_no(call: ToolCall, item: Tool, decision: Decision) -> Approval:
        asked.append(decision)
        return Approval(False, by="person")

    call = ToolCall("write_file", {"path": str(notes), "content": "a summary"})
    writes = Session(
        None, registry, confirmer=person_says_no, options=PolicyOptions(yes_writes=True)
    )
    step = writes.run_call(call, request="summarize notes.txt")
    assert step.result is None and len(asked) == 1 and asked[0].risk is Risk.DESTRUCTIVE
    assert notes.read_text() == "line one\nline two\n"
    destructive = Session(None, registry, options=PolicyOptions(yes_destructive=True))
    step = destructive.run_call(call, request="summarize notes.txt")
    assert step.result is not None and step.result.ok
    assert notes.read_text() == "a summary"
