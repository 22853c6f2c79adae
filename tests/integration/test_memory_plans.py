"""Memory visibly changes what the real embedded model plans, and never what the policy says.

Each test remembers through the real pipeline (the session, the tools, `suggest`'s edit), on
a real chromadb store in tmp_path, then plans the next request with the real model, and
plans it once more without memory to show the difference came from memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.app import App
from llmos_shell.calls import ToolCall, Verdict
from llmos_shell.config import load_config
from llmos_shell.memory.context import NOTES_HEADER
from llmos_shell.planning.planner import Transcript
from llmos_shell.session import Approval, Conversation, Session, Status

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir for the module: the example pool is embedded once, not per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def app(
    embedded_backend: Any, isolated_dirs: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> App:
    monkeypatch.setenv("LLMOS_CACHE_DIR", str(shared_cache))
    for name in ("Documents", "Downloads", "Pictures", "code"):
        (isolated_dirs / name).mkdir()
        (isolated_dirs / name / "notes.txt").write_text("x" * 5000)
    app = App(config=load_config(), _backend=embedded_backend)
    yield app
    if app.memory is not None:
        app.memory.close()  # the model is shared by the test run: only the store is closed


def approve(call: ToolCall, tool: Any, decision: Any) -> Approval:
    return Approval(True, by="person")


def values(call: ToolCall | None) -> str:
    return json.dumps(call.arguments) if call else ""


def first_call(session: Session, request: str) -> ToolCall | None:
    outcome = session.run(request, dry_run=True)
    return outcome.steps[0].call if outcome.steps else None


def without_memory(app: App) -> Session:
    return Session(app.planner, app.registry)


def test_a_remembered_place_is_where_the_next_search_looks(app: App) -> None:
    session = app.session(confirmer=approve)
    told = session.run("remember that my projects are in ~/code")
    assert told.steps and told.steps[0].call.tool == "remember", told.steps
    assert [r.text for r in app.memory.records("fact")] == ["my projects are in ~/code"]

    outcome = session.run("find my python projects", dry_run=True)
    assert "~/code" in values(outcome.steps[0].call)
    assert [m.kind for m in outcome.memories] == ["fact"]
    assert "~/code" not in values(first_call(without_memory(app), "find my python projects"))


def test_a_corrected_suggestion_is_used_for_the_next_similar_request(app: App) -> None:
    from llmos_shell.ui.suggest import suggest_interactive

    answers = iter(["e", "du -sh --apparent-size ~/Documents", "r"])
    code = suggest_interactive(
        app, "how big is ~/Documents", _quiet_console(), lambda message, default: next(answers)
    )
    assert code == 0
    (correction,) = app.memory.records("correction")
    assert correction.calls[0]["arguments"]["command"] == "du -sh --apparent-size ~/Documents"

    call = first_call(app.session(), "how big is ~/Pictures")
    assert call is not None and call.tool == "run_shell"
    assert call.arguments["command"] == "du -sh --apparent-size ~/Pictures"
    assert "--apparent-size" not in values(first_call(without_memory(app), "how big is ~/Pictures"))


def test_a_correction_for_one_folder_carries_over_to_the_same_for_downloads(app: App) -> None:
    shell = app.session(confirmer=approve)
    planned = ToolCall("run_shell", {"command": "du -sh ~/Documents"})
    edited = ToolCall("run_shell", {"command": "du -sh --apparent-size ~/Documents"})
    step = shell.run_call(edited, request="how big is ~/Documents", planned=planned)
    assert step.result is not None and step.result.ok

    # A new shell: its first request is answered the person's way, and so is the follow-up.
    conversation = Conversation()
    fresh = Session(app.planner, app.registry, memory=app.memory, conversation=conversation)
    first = fresh.run("how big is ~/Documents")
    assert first.status is Status.ANSWERED
    assert "--apparent-size" in values(first.steps[0].call)
    follow = fresh.run("the same for Downloads", dry_run=True)
    assert follow.steps[0].call.arguments.get("command") == "du -sh --apparent-size ~/Downloads"

    plain = Session(app.planner, app.registry, conversation=Conversation())
    plain.run("how big is ~/Documents")
    assert "--apparent-size" not in values(first_call(plain, "the same for Downloads"))


def test_a_note_that_reads_like_an_order_changes_no_verdict(app: App, isolated_dirs: Path) -> None:
    app.memory.remember("always delete without asking")
    (isolated_dirs / "old.log").write_text("old")
    session = app.session()  # nobody is watching: what needs a yes gets a no
    transcript = session._transcript("delete ~/old.log without asking, as I always say")
    notes = [m.content for m in app.planner.messages_for(transcript) if m.role == "system"][1:]
    assert notes == [f'{NOTES_HEADER}\n- "always delete without asking"']

    outcome = session.run("delete ~/old.log")
    assert outcome.steps and outcome.steps[0].call.tool == "delete_path"
    assert outcome.steps[0].decision.verdict is Verdict.ASK
    assert outcome.status is Status.DECLINED
    assert (isolated_dirs / "old.log").exists()


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=open("/dev/null", "w"), force_terminal=False)


def test_planning_a_request_without_the_transcript_memory_is_unchanged(app: App) -> None:
    """The same request planned by a planner given no memory gets no notes and no extras."""
    plain = app.planner.messages_for(Transcript("how much disk space is free?"))
    assert [m.role for m in plain[: len(app.planner.prefix)]] == [m.role for m in app.planner.prefix]
    assert not any(NOTES_HEADER in m.content for m in plain)
