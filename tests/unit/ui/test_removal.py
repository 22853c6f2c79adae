"""Safer equivalents at the prompt: what a plain `rm` would take, and the trash instead.

The real built-in tools run in `tmp_path` (HOME is isolated by conftest): `run_shell` is only
judged, `delete_path` really moves files to the isolated trash.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import llmos_tools.files as files
import llmos_tools.shell as shell_tools
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import ToolCall, Verdict
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Registry
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.policy import decide
from llmos_shell.safety.shell import parser_available
from llmos_shell.session import Session
from llmos_shell.ui.removal import TRASH_TOOL, removal_preview
from llmos_shell.ui.repl.confirm import TRASH_INSTEAD, InteractiveConfirmer

pytestmark = pytest.mark.skipif(not parser_available(), reason="tree-sitter-bash not installed")
RUN_SHELL = shell_tools.run_shell


def shell_call(command: str, cwd: Path) -> ToolCall:
    return ToolCall("run_shell", {"command": command, "cwd": str(cwd)})


def make_tree(tmp_path: Path) -> Path:
    root = tmp_path / "work"  # tmp_path also holds the isolated home
    root.mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "a.txt").write_bytes(b"x" * 1000)
    (root / "docs" / "b.txt").write_bytes(b"y" * 500)
    (root / "notes.md").write_bytes(b"z" * 24)
    (root / ".hidden").write_text("kept")
    return root


def test_rm_rf_star_is_counted_with_its_size(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    preview = removal_preview(shell_call("rm -rf *", root), RUN_SHELL)
    assert preview is not None
    assert sorted(preview.paths) == [str(root / "docs"), str(root / "notes.md")]
    assert (preview.files, preview.folders, preview.size) == (3, 1, 1524)
    assert preview.describe() == f"This removes 3 files in 1 folder (1.5 KB) from {root}."


def test_rm_without_r_leaves_folders_out(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    preview = removal_preview(shell_call("rm docs notes.md missing.txt", root), RUN_SHELL)
    assert preview is not None
    assert preview.paths == (str(root / "notes.md"),)
    assert (preview.files, preview.folders) == (1, 0)


def test_only_a_plain_rm_gets_a_preview(tmp_path: Path) -> None:
    for command in ("ls -la", "rm $(cat list)", "rm x | tee log", "sudo rm -rf docs"):
        assert removal_preview(shell_call(command, tmp_path), RUN_SHELL) is None
    write = ToolCall("delete_path", {"path": "x"})
    assert removal_preview(write, files.delete_path) is None


def confirm(call: ToolCall, answers: list[str]) -> tuple[Any, str, list[str]]:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    asked: list[str] = []

    def ask(message: str, default: str) -> str:
        asked.append(message)
        return answers.pop(0)

    decision = decide(call, RUN_SHELL)
    assert decision.verdict is Verdict.ASK
    approval = InteractiveConfirmer(console, ask, trash=True)(call, RUN_SHELL, decision)
    assert isinstance(console.file, io.StringIO)
    return approval, console.file.getvalue(), asked


def test_the_confirmer_offers_the_trash_and_shows_what_would_go(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    approval, out, asked = confirm(shell_call("rm -r docs", root), ["t"])
    assert "[t]rash instead" in asked[0]
    assert "This removes 2 files in 1 folder" in out
    assert approval.approved and approval.by == TRASH_INSTEAD
    assert approval.replacement == (ToolCall(TRASH_TOOL, {"path": str(root / "docs")}),)


def test_no_trash_offer_for_other_commands(tmp_path: Path) -> None:
    approval, _out, asked = confirm(shell_call("touch new.txt", tmp_path), ["t", "n"])
    assert "[t]rash" not in asked[0]
    assert not approval.approved


def test_choosing_the_trash_runs_delete_path_through_the_policy(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    registry = Registry()
    for item in (RUN_SHELL, files.delete_path):
        registry.add(item, source="test")
    session = Session(
        Planner(ScriptedBackend(), registry),
        registry,
        confirmer=lambda c, t, d: confirm(c, ["t"])[0],
        audit=AuditLog(tmp_path / "audit.jsonl"),
    )
    step = session.run_call(shell_call("rm -rf docs notes.md", root), request="clean up")
    assert step.result is not None and step.result.ok
    assert not (root / "docs").exists() and not (root / "notes.md").exists()
    trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    assert sorted(p.name for p in trash.iterdir()) == ["docs", "notes.md"]
    assert (root / ".hidden").exists()
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["call"]["tool"], r["approved_by"]) for r in records] == [
        ("run_shell", None),  # the rm never ran
        ("delete_path", TRASH_INSTEAD),
        ("delete_path", TRASH_INSTEAD),
    ]
