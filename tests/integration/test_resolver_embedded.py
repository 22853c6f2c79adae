"""The resolver on the real embedded model: each class of named thing, planned for real.

The model plans (as measured, it widens deletes to the folder and copies typos); the
resolver, reading the real files, processes and turns, makes the call name what was said.
Nothing destructive runs: plans only, except the move that the undo then takes back.
"""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import ToolCall
from llmos_shell.planning.planner import Planner, Turn
from llmos_shell.planning.shortlist import default_shortlist
from llmos_shell.registry import Registry, discover
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.session import Approval, Conversation, Session

# The fixture that loads the embedded model: its tests are `model` tests (tests/conftest.py).
MODEL_FIXTURES = frozenset({"backend"})


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import embedded_model_path

    made = LlamaCppBackend(embedded_model_path(), context_size=4096, threads=1)
    yield made
    made.close()


NOTES_PLUGIN = '''
from pathlib import Path
from typing import Literal

from llmos_shell.errors import ToolError
from llmos_shell.registry import tool


@tool(
    risk="write",  # read-only | write | network | destructive | privileged
    examples=[("note that the boiler needs a check", {"text": "the boiler needs a check"})],
)
def add_note(text: str, priority: Literal["low", "high"] = "low") -> dict:
    """Add a line to my notes file.

    Args:
        text: the note itself
        priority: how urgent it is
    """
    notes = Path.home() / "notes.txt"
    try:
        with notes.open("a") as handle:
            handle.write(f"[{priority}] {text}\\n")
    except OSError as exc:
        raise ToolError(f"cannot write {notes}: {exc.strerror}") from None
    return {"saved_to": str(notes)}
'''


def _yes(call: ToolCall, tool: Any, decision: Any) -> Approval:
    return Approval(True, by="person")


def _session(backend: Any, home: Path, registry: Registry | None = None) -> Session:
    registry = registry or discover(home / "no-plugins")
    planner = Planner(
        backend, registry, shortlist=default_shortlist(registry, size=5), static_examples=False
    )
    planner.warm_up()
    session = Session(
        planner,
        registry,
        confirmer=_yes,
        conversation=Conversation(),
        undo=UndoJournal(home / "undo.jsonl"),
    )
    session.folder = str(home)
    return session


@pytest.fixture
def home(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel, size in [
        ("Downloads/ubuntu-24.04-desktop-amd64.iso", 9000),
        ("Downloads/installer.deb", 300),
        ("Downloads/boarding-pass-LHR.pdf", 100),
        ("Downloads/pasta-recipe.txt", 10),
        ("Documents/insurance_letter_2024.pdf", 50),
    ]:
        path = isolated_dirs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    monkeypatch.chdir(isolated_dirs)
    return isolated_dirs


@pytest.mark.parametrize(
    ("request_text", "want"),
    [
        (
            "get rid of the ubuntu iso in my downloads, its huge",
            "~/Downloads/ubuntu-24.04-desktop-amd64.iso",
        ),
        ("delet the installer.deb from my downlods", "~/Downloads/installer.deb"),
        ("delete the boarding pass in my downloads", "~/Downloads/boarding-pass-LHR.pdf"),
    ],
)
def test_a_described_file_is_the_target_not_its_folder(
    backend: Any, home: Path, request_text: str, want: str
) -> None:
    action = _session(backend, home).plan(request_text)
    assert action.call is not None and action.call.tool == "delete_path"
    assert action.call.arguments == {"path": want}


def test_the_sleep_1000_process_is_killed_by_its_pid(backend: Any, home: Path) -> None:
    target, other = subprocess.Popen(["sleep", "1000"]), subprocess.Popen(["sleep", "999"])
    try:
        action = _session(backend, home).plan("kill the sleep 1000 process")
    finally:
        for proc in (target, other):
            proc.kill()
            proc.wait()
    assert action.call is not None and action.call.tool == "kill_process"
    assert action.call.arguments.get("pid") == target.pid and "name" not in action.call.arguments


def test_it_is_the_row_of_the_search_before(backend: Any, home: Path) -> None:
    session = _session(backend, home)
    found = session.run_call(
        ToolCall("find_files", {"path": "~", "name": "*recipe*"}), request="find my recipe"
    )
    assert found.result is not None and found.result.ok
    assert session.conversation is not None
    session.conversation.turns = [Turn("find my recipe", found.call, None, (found.result.data,))]
    action = session.plan("delete it")
    assert action.call is not None and action.call.tool == "delete_path"
    assert action.call.arguments["path"].endswith("/Downloads/pasta-recipe.txt")


def test_oops_undo_that_takes_back_the_move(backend: Any, home: Path) -> None:
    session = _session(backend, home)
    move = ToolCall(
        "move_path", {"source": "~/Downloads/pasta-recipe.txt", "destination": "~/Documents"}
    )
    assert session.run_call(move, request="move the recipe into documents").result is not None
    assert (home / "Documents" / "pasta-recipe.txt").exists()
    outcome = session.run("oops, undo that")
    assert [s.call.tool for s in outcome.steps] == ["undo"]
    assert (home / "Downloads" / "pasta-recipe.txt").exists()


def test_a_nightly_delete_with_an_age_never_takes_the_folder(backend: Any, home: Path) -> None:
    tmp = home / "Downloads" / "tmp"
    tmp.mkdir()
    (tmp / "old.log").write_bytes(b"x")
    action = _session(backend, home).plan(
        "every night at 2 delete files older than 30 days in ~/Downloads/tmp"
    )
    assert not (
        action.call is not None
        and action.call.tool == "delete_path"
        and action.call.arguments.get("path") in ("~/Downloads/tmp", str(tmp))
    )


@pytest.mark.parametrize(
    ("request_text", "want"),
    [
        ("note that the boiler needs a check", "the boiler needs a check"),
        ("add a note: water the plants", "water the plants"),
        # Measured: the model answers these instead of calling add_note (a choice between
        # calling and answering the resolver does not make); the argument is right when it
        # calls (tests/unit/planning/test_resolver.py).
        pytest.param(
            "make a note that the car needs new tyres",
            "the car needs new tyres",
            marks=pytest.mark.xfail(reason="the model answers instead of calling", strict=False),
        ),
        pytest.param(
            "note: renew the passport",
            "renew the passport",
            marks=pytest.mark.xfail(reason="the model answers instead of calling", strict=False),
        ),
    ],
)
def test_the_readme_notes_plugin_takes_the_requests_words(
    backend: Any, home: Path, request_text: str, want: str
) -> None:
    plugins = home / "plugins"
    plugins.mkdir()
    (plugins / "notes.py").write_text(textwrap.dedent(NOTES_PLUGIN))
    registry = discover(plugins)
    assert "add_note" in registry
    action = _session(backend, home, registry).plan(request_text)
    assert action.call is not None and action.call.tool == "add_note"
    assert action.call.arguments["text"] == want
