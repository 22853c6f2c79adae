"""One catastrophe rule for every tool, approvals that never cover unknown calls, honest explain."""

from __future__ import annotations

import pytest

from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.registry import tool
from llmos_shell.safety.approval import Ceiling, unattended
from llmos_shell.safety.policy import PolicyOptions, decide, explain
from llmos_shell.safety.shell import parser_available

needs_parser = pytest.mark.skipif(not parser_available(), reason="tree-sitter-bash not installed")


@tool(risk=Risk.DESTRUCTIVE, reversible=True)
def delete_path(path: str) -> str:
    """Move a file or folder to the trash."""
    return path


@tool(risk=Risk.WRITE)
def move_path(source: str, destination: str) -> str:
    """Move a file or folder."""
    return source


@tool(risk=Risk.WRITE)
def copy_path(source: str, destination: str) -> str:
    """Copy a file or folder."""
    return source


@tool(risk=Risk.READ_ONLY)
def list_directory(path: str = ".") -> str:
    """List a folder."""
    return path


@tool(risk=Risk.PRIVILEGED, reversible=False)
def wipe(targets: list[str]) -> str:
    """A plugin's tool that erases things."""
    return ""


@tool(risk=Risk.DESTRUCTIVE, reversible=False, shell_command_arg="command")
def run_shell(command: str) -> str:
    """Run a shell command."""
    return command


def judge(the_tool: object, **arguments: object) -> Decision:
    return decide(ToolCall(the_tool.name, dict(arguments)), the_tool)  # type: ignore[attr-defined,arg-type]


@pytest.mark.parametrize(
    "path", ["~", "~/", "$HOME", "/", "/etc", "/usr/", "/home/alex", ".", "./", "$PWD", ".."]
)
def test_deleting_a_critical_folder_is_refused_whichever_tool(path: str) -> None:
    decision = judge(delete_path, path=path)
    assert decision.verdict is Verdict.DENY
    assert decision.reason.startswith("refused: delete_path would act on")
    assert unattended(decision, PolicyOptions(True, True).ceiling) is False


def test_a_list_argument_of_a_plugin_tool_is_checked() -> None:
    assert judge(wipe, targets=["build", "/boot"]).verdict is Verdict.DENY
    assert judge(wipe, targets=["build"]).verdict is Verdict.ASK


def test_a_write_tool_is_refused_on_what_it_acts_on_not_where_things_go() -> None:
    assert judge(move_path, source="~", destination="/tmp/x").verdict is Verdict.DENY
    assert judge(move_path, source="/etc", destination="etc.old").verdict is Verdict.DENY
    assert judge(move_path, source="report.pdf", destination="~").verdict is Verdict.ASK
    assert judge(copy_path, source=".", destination="/mnt/backup").verdict is Verdict.ASK


def test_ordinary_paths_and_read_only_tools_are_not_catastrophes() -> None:
    assert judge(delete_path, path="~/Downloads/junk").verdict is Verdict.ASK
    assert judge(delete_path, path="./build").verdict is Verdict.ASK
    assert judge(list_directory, path="~").verdict is Verdict.ALLOW


def test_explain_never_promises_an_undo_it_cannot_give() -> None:
    refused = ToolCall("delete_path", {"path": "~"})
    text = explain(refused, delete_path, decide(refused, delete_path))
    assert "it cannot be undone" in text
    trash = ToolCall("delete_path", {"path": "old.txt"})
    assert "it can be undone" in explain(trash, delete_path, decide(trash, delete_path))


@needs_parser
@pytest.mark.parametrize("command", ["echo hi > out.txt", "rm -r build", "x=rm; $x build"])
def test_explain_says_a_shell_command_cannot_be_undone(command: str) -> None:
    call = ToolCall("run_shell", {"command": command})
    text = explain(call, run_shell, decide(call, run_shell))
    assert "it cannot be undone" in text
    assert "it can be undone" not in text


@needs_parser
def test_explain_names_the_unknown_risk() -> None:
    call = ToolCall("run_shell", {"command": 'eval "$X"'})
    decision = decide(call, run_shell)
    assert decision.risk is Risk.UNKNOWN
    text = explain(call, run_shell, decision)
    assert "Risk: unknown (does what cannot be known before it runs)" in text


@pytest.mark.parametrize(
    ("decision", "approved", "expected"),
    [
        (Decision(Verdict.ASK, Risk.WRITE, "w"), Risk.WRITE, True),
        (Decision(Verdict.ASK, Risk.DESTRUCTIVE, "d"), Risk.WRITE, None),
        (Decision(Verdict.ASK, Risk.DESTRUCTIVE, "d"), Risk.DESTRUCTIVE, True),
        (Decision(Verdict.ASK, Risk.UNKNOWN, "u"), Risk.DESTRUCTIVE, None),
        (Decision(Verdict.ASK, Risk.PRIVILEGED, "p"), Risk.DESTRUCTIVE, None),
        (
            Decision(Verdict.ASK, Risk.WRITE, "s", sensitive=("~/.ssh/id_rsa",)),
            Risk.DESTRUCTIVE,
            None,
        ),
        (Decision(Verdict.ASK, Risk.WRITE, "p", parsed=False), Risk.DESTRUCTIVE, None),
        (Decision(Verdict.DENY, Risk.READ_ONLY, "x"), Risk.DESTRUCTIVE, False),
        (Decision(Verdict.ALLOW, Risk.READ_ONLY, "r"), Risk.READ_ONLY, True),
    ],
)
def test_no_approved_risk_covers_an_unknown_call(
    decision: Decision, approved: Risk, expected: bool | None
) -> None:
    assert unattended(decision, Ceiling.automation(approved, "automation 1")) is expected


@pytest.mark.parametrize("risk", [Risk.PRIVILEGED, Risk.UNKNOWN])
def test_no_ceiling_may_hold_a_risk_only_a_person_approves(risk: Risk) -> None:
    with pytest.raises(ValueError, match="never approved in advance"):
        Ceiling.automation(risk, "automation 1")
