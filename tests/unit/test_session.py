"""The one pipeline: `Session.run_call` decides, asks, runs and audits; cancel stops it.

A scripted backend stands in for the model: these tests check the pipeline's logic, not what
a model plans.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.errors import ExitStatus
from llmos_shell.planning.planner import Planner
from llmos_shell.registry import Registry, Tool, tool
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.session import Approval, Session, Status
from llmos_shell.ui.interrupt import cancel_on_sigint
from tests.waiting import appears


@tool(risk=Risk.READ_ONLY)
def slow_count(marks: str, seconds: float = 5.0) -> dict[str, Any]:
    """Count up for a while (a stand-in for a tool that takes long), leaving marks in a folder.

    It runs in a worker process, so it says it started, and that it finished, with files.
    """
    Path(marks, "started").touch()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    Path(marks, "finished").touch()
    return {"done": True}


@tool(risk=Risk.WRITE)
def save_text(path: str, text: str) -> dict[str, Any]:
    """Save text to a file."""
    Path(path).write_text(text)
    return {"saved": path}


def make_session(
    backend: ScriptedBackend,
    tmp_path: Path,
    *,
    confirmer: Any = None,
    options: PolicyOptions | None = None,
) -> Session:
    registry = Registry()
    for item in (slow_count, save_text):
        registry.add(item, source="test")
    planner = Planner(backend, registry)
    kwargs: dict[str, Any] = {"confirmer": confirmer} if confirmer else {}
    return Session(
        planner,
        registry,
        audit=AuditLog(tmp_path / "audit.jsonl"),
        options=options,
        tool_timeout_s=30,
        **kwargs,
    )


def audit_records(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_cancel_during_generation_ends_the_request_as_cancelled(tmp_path: Path) -> None:
    story = "a long answer that goes on and on " * 20
    backend = ScriptedBackend([{"answer": story}], piece_delay_s=0.02)
    session = make_session(backend, tmp_path)
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    outcome = session.run("tell me a story", cancel=cancel)
    assert outcome.status is Status.CANCELLED
    assert outcome.status.exit_status is ExitStatus.INTERRUPTED
    assert outcome.answer is None and not outcome.steps
    assert time.monotonic() - started < 2  # it stopped early, between pieces (3 s in all)


def test_cancel_during_a_tool_stops_the_tool_and_says_cancelled(tmp_path: Path) -> None:
    arguments = {"marks": str(tmp_path), "seconds": 3}
    backend = ScriptedBackend([{"tool": "slow_count", "arguments": arguments}])
    session = make_session(backend, tmp_path)
    cancel = threading.Event()
    threading.Thread(
        target=lambda: appears(tmp_path / "started") and cancel.set(), daemon=True
    ).start()
    started = time.monotonic()
    outcome = session.run("count slowly", cancel=cancel)
    assert time.monotonic() - started < 20
    assert outcome.status is Status.CANCELLED
    # the work itself stopped, not only the waiting: it never gets to its end
    assert not appears(tmp_path / "finished", timeout_s=4)
    [step] = outcome.steps
    assert step.result is not None and step.result.cancelled and not step.result.ok
    assert "cancelled" in (step.result.error or "")
    [record] = audit_records(tmp_path)
    assert record["call"]["tool"] == "slow_count"
    assert record["outcome"]["status"] == "error"


def test_a_real_ctrl_c_cancels_the_running_tool(tmp_path: Path) -> None:
    """SIGINT in the main thread, as a person's Ctrl-C, goes through the same event."""
    arguments = {"marks": str(tmp_path), "seconds": 3}
    backend = ScriptedBackend([{"tool": "slow_count", "arguments": arguments}])
    session = make_session(backend, tmp_path)

    def press_ctrl_c() -> None:
        if appears(tmp_path / "started"):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with cancel_on_sigint() as cancel:
        outcome = session.run("count slowly", cancel=cancel)
    assert outcome.status is Status.CANCELLED
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_second_ctrl_c_interrupts() -> None:
    with pytest.raises(KeyboardInterrupt), cancel_on_sigint() as cancel:
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 5
        while not cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert cancel.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises before this ends


def test_run_call_asks_the_confirmer_and_audits_who_approved(tmp_path: Path) -> None:
    asked: list[Decision] = []

    def confirmer(call: ToolCall, item: Tool, decision: Decision) -> Approval:
        asked.append(decision)
        return Approval(True, by="person")

    session = make_session(ScriptedBackend(), tmp_path, confirmer=confirmer)
    target = tmp_path / "note.txt"
    call = ToolCall("save_text", {"path": str(target), "text": "hi"})
    step = session.run_call(call, request="save a note")
    assert [d.verdict for d in asked] == [Verdict.ASK]
    assert step.result is not None and step.result.ok
    assert target.read_text() == "hi"
    [record] = audit_records(tmp_path)
    assert record["approved_by"] == "person"


def test_run_call_applies_the_yes_flags_without_asking(tmp_path: Path) -> None:
    def never(call: ToolCall, item: Tool, decision: Decision) -> Approval:
        raise AssertionError("a --yes write must not ask")

    session = make_session(
        ScriptedBackend(), tmp_path, confirmer=never, options=PolicyOptions(yes_writes=True)
    )
    target = tmp_path / "note.txt"
    step = session.run_call(
        ToolCall("save_text", {"path": str(target), "text": "hi"}), request="save"
    )
    assert step.approval is not None and step.approval.by == "--yes flag"
    assert target.exists()


def test_an_edited_call_is_judged_again(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def edits_to_another_file(call: ToolCall, item: Tool, decision: Decision) -> Approval:
        seen.append(dict(call.arguments))
        return Approval(True, by="person", arguments={"path": str(tmp_path / "b.txt"), "text": "x"})

    session = make_session(ScriptedBackend(), tmp_path, confirmer=edits_to_another_file)
    step = session.run_call(
        ToolCall("save_text", {"path": str(tmp_path / "a.txt"), "text": "x"}), request="save"
    )
    assert step.call.arguments["path"].endswith("b.txt")
    assert (tmp_path / "b.txt").exists() and not (tmp_path / "a.txt").exists()


def test_an_unknown_tool_is_refused_and_never_runs(tmp_path: Path) -> None:
    session = make_session(ScriptedBackend(), tmp_path)
    step = session.run_call(ToolCall("format_disk", {}), request="wipe it")
    assert step.decision.verdict is Verdict.DENY
    assert step.result is None


def test_dry_run_judges_but_runs_nothing(tmp_path: Path) -> None:
    backend = ScriptedBackend([{"tool": "save_text", "arguments": {"path": "x", "text": "y"}}])
    outcome = make_session(backend, tmp_path).run("save", dry_run=True)
    assert outcome.status is Status.PLANNED
    [step] = outcome.steps
    assert step.result is None and step.decision.risk is Risk.WRITE
    assert not (tmp_path / "audit.jsonl").exists()


def test_a_declined_call_does_not_come_back_on_an_unrelated_request(tmp_path: Path) -> None:
    from llmos_shell.session import Conversation

    conversation = Conversation()
    backend = ScriptedBackend([{"tool": "save_text", "arguments": {"path": "x", "text": "y"}}])
    session = make_session(backend, tmp_path)
    session.conversation = conversation
    declined = session.run("save y into x")  # the scripted confirmer-less session says no
    assert declined.status is Status.DECLINED
    assert conversation.turns[-1].outcome == "declined"
    assert session._transcript("how much disk space is free").history == ()
    follow_up = session._transcript("ok, do it anyway")
    assert [turn.request for turn in follow_up.history] == ["save y into x"]


def test_the_turn_before_is_shown_as_context_not_as_an_example(tmp_path: Path) -> None:
    from llmos_shell.planning.planner import Transcript, Turn

    session = make_session(ScriptedBackend(), tmp_path)
    turn = Turn("find logs", ToolCall("slow_count", {"seconds": 1}), None, ({"done": True},))
    messages = session.planner.messages_for(Transcript("and the other ones", history=(turn,)))
    [context] = [m for m in messages if m.role == "system" and "request before" in m.content]
    assert '"find logs"' in context.content and '"done": true' in context.content
    assert not any(m.role == "assistant" and "slow_count" in m.content for m in messages)


def test_a_question_of_knowledge_is_answered_and_marked_and_a_refusal_names_no_far_tool(
    tmp_path: Path,
) -> None:
    from llmos_shell.planning.headlines import GENERAL_KNOWLEDGE

    text = "A file that points at another path."
    backend = ScriptedBackend([{"answer": text}, {"answer": ""}])
    session = make_session(backend, tmp_path)
    outcome = session.run("what is a symlink?")
    assert outcome.answer == f"{GENERAL_KNOWLEDGE} {text}"
    # No shortlist, so no scores say any tool is close: none is named.
    outcome = session.run("book me a flight to paris")
    assert outcome.answer == "None of my tools can do that; `llmos tools` lists what I can do."
