"""Where no sandbox can run: say so once, ask before every command that is not read-only (even
under --yes), or refuse them all, as the `sandbox` setting says; and which calls get the network.

"No sandbox" is made real by a PATH that holds no bwrap, the way a machine without bubblewrap
looks.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Decision, ExecutionContext, Risk, ToolCall, Verdict
from llmos_shell.errors import ToolError
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Tool, discover
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.safety.sandbox import SandboxStatus, ShellSandbox, availability, gate
from llmos_shell.session import Approval, Session, SilentEvents
from llmos_tools import shell

MISSING = SandboxStatus(False, "bubblewrap is not installed")
USABLE = SandboxStatus(True, "/usr/bin/bwrap")


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with bash and a few programs but no bwrap."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in ("bash", "sh", "echo", "ls", "cat"):
        found = shutil.which(program)
        if found:
            (folder / program).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))
    assert not availability().usable


class Notices(SilentEvents):
    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, text: str) -> None:
        self.notices.append(text)


class Recorder:
    def __init__(self, answer: bool = True) -> None:
        self.asked: list[Decision] = []
        self.answer = answer

    def __call__(self, call: ToolCall, item: Tool, decision: Decision) -> Approval:
        self.asked.append(decision)
        return Approval(self.answer, by="person")


def make_session(mode: Any, confirmer: Recorder, options: PolicyOptions | None = None) -> Session:
    registry = discover(None).subset(["run_shell"])
    return Session(
        Planner(ScriptedBackend(), registry),
        registry,
        confirmer=confirmer,
        options=options,
        sandbox=ShellSandbox(mode),
        tool_timeout_s=30,
    )


def shell_call(command: str, cwd: Path) -> ToolCall:
    return ToolCall("run_shell", {"command": command, "cwd": str(cwd)})


def decision(verdict: Verdict, risk: Risk = Risk.WRITE) -> Decision:
    return Decision(verdict, risk, "echo writes a file", ("echo writes a file",))


def test_gate_refuses_everything_when_a_sandbox_is_required_and_missing() -> None:
    for verdict in (Verdict.ALLOW, Verdict.ASK):
        judged, must_ask = gate(decision(verdict), "required", MISSING)
        assert judged.verdict is Verdict.DENY and not must_ask
        assert 'sandbox = "required"' in judged.reason and "bubblewrap" in judged.reason


def test_gate_without_a_sandbox_asks_a_person_unless_read_only() -> None:
    judged, must_ask = gate(decision(Verdict.ASK), "auto", MISSING)
    assert must_ask and judged.verdict is Verdict.ASK
    assert judged.reason == "echo writes a file; it would run without a sandbox"
    allowed, must_ask = gate(decision(Verdict.ALLOW, Risk.READ_ONLY), "auto", MISSING)
    assert allowed.verdict is Verdict.ALLOW and not must_ask


def test_gate_changes_nothing_with_a_sandbox_or_when_it_is_off() -> None:
    for mode, status in (("auto", USABLE), ("required", USABLE), ("off", MISSING)):
        original = decision(Verdict.ASK)
        assert gate(original, mode, status) == (original, False)


def test_without_bwrap_a_write_asks_even_under_yes_and_it_is_said_once(
    no_bwrap: None, tmp_path: Path
) -> None:
    confirmer = Recorder(answer=False)
    session = make_session("auto", confirmer, PolicyOptions(yes_writes=True, yes_destructive=True))
    events = Notices()
    for name in ("a", "b"):
        step = session.run_call(
            shell_call(f"echo hi > {name}.txt", tmp_path), request="x", events=events
        )
        assert step.result is None and step.approval is not None and step.approval.by == "person"
    assert len(confirmer.asked) == 2
    assert events.notices == [
        "Shell commands run without a sandbox because bubblewrap is not installed, so every "
        "command that is not read-only asks first; install bubblewrap (apt-get install "
        'bubblewrap or dnf install bubblewrap), or set sandbox = "required" to refuse them.'
    ]
    assert not (tmp_path / "a.txt").exists()


def test_without_bwrap_a_read_only_command_still_runs_unasked(
    no_bwrap: None, tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "seen.txt").write_text("x")
    confirmer = Recorder()
    step = make_session("auto", confirmer).run_call(shell_call("ls", folder), request="ls")
    assert not confirmer.asked
    assert step.result is not None and step.result.ok
    assert step.result.data["stdout"] == "seen.txt\n"


def test_without_bwrap_required_refuses_and_runs_nothing(no_bwrap: None, tmp_path: Path) -> None:
    confirmer = Recorder()
    session = make_session("required", confirmer, PolicyOptions(yes_writes=True))
    for command in ("ls", "echo hi > made.txt"):
        step = session.run_call(shell_call(command, tmp_path), request="x")
        assert step.decision.verdict is Verdict.DENY and step.result is None
    assert not confirmer.asked and not (tmp_path / "made.txt").exists()


def test_run_shell_itself_refuses_without_a_sandbox_when_one_is_required(
    no_bwrap: None, tmp_path: Path
) -> None:
    with pytest.raises(ToolError, match="refused to run the command without a sandbox"):
        shell.run_shell(
            "echo hi > made.txt", cwd=str(tmp_path), context=ExecutionContext(sandbox="required")
        )
    assert not (tmp_path / "made.txt").exists()
    auto = shell.run_shell("echo hi > made.txt", cwd=str(tmp_path))
    assert auto["exit_code"] == 0 and (tmp_path / "made.txt").exists()


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox mode"):
        ShellSandbox("sometimes")  # type: ignore[arg-type]


def test_no_one_at_the_terminal_means_no_without_a_sandbox_and_says_why(
    no_bwrap: None, tmp_path: Path
) -> None:
    registry = discover(None).subset(["run_shell"])
    session = Session(
        Planner(ScriptedBackend(), registry),
        registry,
        options=PolicyOptions(yes_writes=True, yes_destructive=True),
        sandbox=ShellSandbox("auto"),
    )
    step = session.run_call(shell_call("echo hi > made.txt", tmp_path), request="x")
    assert step.result is None and step.approval is not None
    assert step.approval.by == (
        "no one was asked: input is not a terminal; no sandbox can run here, so a person "
        'must approve it (or set sandbox = "off")'
    )
    assert not (tmp_path / "made.txt").exists()
