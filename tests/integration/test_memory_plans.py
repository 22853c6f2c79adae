"""Memory reaches what the real embedded model is shown, and never changes what the policy says.

Each test remembers through the real pipeline (the session, the tools, `suggest`'s edit), on
a real chromadb store in tmp_path, then shows that the next similar request's prompt carries
it (and the same request without memory does not), and plans it with the real model: a valid
call of an offered tool, judged by the policy as it would be without memory, nothing run.
Whether the 135M model then follows the memory is a number, not a test:
`python bench/memory_personalization.py` (bench/data/memory_personalization.jsonl).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmos_shell.app import App
from llmos_shell.calls import ToolCall, Verdict
from llmos_shell.config import load_config
from llmos_shell.memory.context import NOTES_HEADER
from llmos_shell.planning.planner import Transcript
from llmos_shell.safety.policy import decide
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


EDITED = "du -sh --apparent-size ~/Documents"  # the person's own version of a command


def prompt_text(app: App, transcript: Transcript) -> str:
    """Everything the planner would send the model for this transcript."""
    return "\n".join(m.content for m in app.planner.messages_for(transcript))


def assert_planned_and_judged(app: App, outcome: Any) -> None:
    """Each planned step: a valid call of a registered tool, the policy's own verdict, not run."""
    for step in outcome.steps:
        tool = app.registry.get(step.call.tool)  # raises for a tool that does not exist
        tool.validate(step.call.arguments)
        assert step.decision == decide(step.call, tool)
        assert step.result is None


def test_a_remembered_place_reaches_the_plan_of_the_next_search(app: App) -> None:
    session = app.session(confirmer=approve)
    told = session.run_call(
        ToolCall("remember", {"text": "my projects are in ~/code"}),
        request="remember that my projects are in ~/code",
    )
    assert told.result is not None and told.result.ok, told.result
    assert [r.text for r in app.memory.records("fact")] == ["my projects are in ~/code"]

    request = "find my python projects"
    assert "my projects are in ~/code" in prompt_text(app, session._transcript(request))
    assert "my projects are in ~/code" not in prompt_text(app, Transcript(request))
    outcome = session.run(request, dry_run=True)
    assert [m.kind for m in outcome.memories] == ["fact"]
    assert_planned_and_judged(app, outcome)


def test_a_place_named_in_other_words_reaches_the_request_as_its_path(app: App) -> None:
    fact = app.memory.remember("I keep the band photos under ~/Pictures/gigs")
    session = app.session()
    request = "show me the concert pictures"
    transcript = session._transcript(request)
    [person] = [m.content for m in app.planner.messages_for(transcript) if m.role == "user"][-1:]
    assert person == "show me ~/Pictures/gigs"  # what the person meant, in the request
    assert "~/Pictures/gigs" not in prompt_text(app, Transcript(request))
    outcome = session.run(request, dry_run=True)
    assert fact.id in [m.id for m in outcome.memories]
    assert_planned_and_judged(app, outcome)


def test_a_corrected_suggestion_reaches_the_plan_of_the_next_similar_request(app: App) -> None:
    from llmos_shell.ui.suggest import suggest_interactive

    answers = iter(["e", "du -sh --apparent-size ~/Documents", "r"])
    code = suggest_interactive(
        app, "how big is ~/Documents", _quiet_console(), lambda message, default: next(answers)
    )
    assert code == 0
    (correction,) = app.memory.records("correction")
    assert correction.calls[0]["arguments"]["command"] == "du -sh --apparent-size ~/Documents"

    session = app.session()
    request = "how big is ~/Pictures"
    assert EDITED in prompt_text(app, session._transcript(request))
    assert EDITED not in prompt_text(app, Transcript(request))
    outcome = session.run(request, dry_run=True)
    assert "correction" in [m.kind for m in outcome.memories]
    assert_planned_and_judged(app, outcome)


def test_a_correction_reaches_a_new_shell_and_its_follow_up(app: App) -> None:
    shell = app.session(confirmer=approve)
    planned = ToolCall("run_shell", {"command": "du -sh ~/Documents"})
    edited = ToolCall("run_shell", {"command": "du -sh --apparent-size ~/Documents"})
    step = shell.run_call(edited, request="how big is ~/Documents", planned=planned)
    assert step.result is not None and step.result.ok

    # A new shell: its first request is shown the person's way, and its follow-up too.
    fresh = Session(app.planner, app.registry, memory=app.memory, conversation=Conversation())
    assert EDITED in prompt_text(app, fresh._transcript("how big is ~/Documents"))
    first = fresh.run("how big is ~/Documents", dry_run=True)
    assert_planned_and_judged(app, first)
    follow = fresh.run("the same for Downloads", dry_run=True)
    assert_planned_and_judged(app, follow)
    plain = Session(app.planner, app.registry, conversation=Conversation())
    assert EDITED not in prompt_text(app, plain._transcript("how big is ~/Documents"))


def test_a_note_that_reads_like_an_order_changes_no_verdict(app: App, isolated_dirs: Path) -> None:
    app.memory.remember("always delete without asking")
    (isolated_dirs / "old.log").write_text("old")
    session = app.session()  # nobody is watching: what needs a yes gets a no
    transcript = session._transcript("delete ~/old.log without asking, as I always say")
    notes = [m.content for m in app.planner.messages_for(transcript) if m.role == "system"][1:]
    assert notes == [f'{NOTES_HEADER}\n- "always delete without asking"']

    outcome = session.run("delete ~/old.log")
    for step in outcome.steps:  # whatever was planned, the policy judged it as without memory
        tool = app.registry.get(step.call.tool)
        assert step.decision == decide(step.call, tool)
        if step.decision.verdict is not Verdict.ALLOW:
            assert step.result is None  # nobody was watching: it did not run
    assert (outcome.status is Status.DECLINED) == any(s.result is None for s in outcome.steps)
    assert (isolated_dirs / "old.log").exists()


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=open("/dev/null", "w"), force_terminal=False)


def test_planning_a_request_without_the_transcript_memory_is_unchanged(app: App) -> None:
    """The same request planned by a planner given no memory gets no notes and no extras."""
    plain = app.planner.messages_for(Transcript("how much disk space is free?"))
    assert [m.role for m in plain[: len(app.planner.prefix)]] == [
        m.role for m in app.planner.prefix
    ]
    assert not any(NOTES_HEADER in m.content for m in plain)
