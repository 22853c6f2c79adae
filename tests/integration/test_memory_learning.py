"""What memory learns across `llmos` runs: stated facts and preferences, confirmed episodes.

`cli.main` runs in this process on a scripted backend (what is planned is the test's choice);
each call of it is a separate one-shot run, as a person types them one after another, with
the memory, the undo journal and the waiting episode in tmp_path.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.backends.scripted import ScriptedBackend
from tests.repl.test_repl import answer, call
from tests.scripting import script_the_cli


@pytest.fixture
def scripted_cli(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    backend = script_the_cli(monkeypatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return backend


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = cli.main(["--json", *argv])
    captured = capsys.readouterr()
    assert code in (0, 3), captured.err
    out = captured.out
    return json.loads(out)


def memories(capsys: pytest.CaptureFixture[str], kind: str) -> list[dict]:
    assert cli.main(["memory", "list", "--kind", kind, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert isinstance(listed, list)
    return listed


def test_a_stated_preference_is_remembered_and_applied(
    scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    said = run(capsys, "--yes", "i prefer sizes in MB")
    assert said["steps"][0]["tool"] == "remember"  # not planned: nothing scripted ran
    assert [m["text"] for m in memories(capsys, "fact")] == ["i prefer sizes in MB"]
    scripted_cli.replies = [call("disk_usage", path="/"), answer("Plenty.")]
    usage = run(capsys, "how much disk space is free?")
    data = usage["steps"][0]["data"]
    sizes = [v for k, v in data.items() if k.endswith("_human")]
    assert sizes and all(v.endswith(" MB") for v in sizes), data
    assert " MB" in usage["answer"]  # the headline, from the restated result


def test_a_rephrase_demotes_what_the_wrong_plan_ran(
    scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "home" / "Downloads").mkdir(parents=True, exist_ok=True)
    scripted_cli.replies = [call("list_directory", path="~/Downloads"), answer("Listed.")]
    run(capsys, "move the recipe from downloads into documents")
    scripted_cli.replies = [answer("I can't tell which file.")]
    run(capsys, "mv Downloads/recipe.txt Documents/")  # the same request in other words
    scripted_cli.replies = [answer("Hello.")]
    run(capsys, "hello")
    assert memories(capsys, "episode") == []


def test_a_request_that_moves_on_confirms_the_episode(
    scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "home" / "Downloads").mkdir(parents=True, exist_ok=True)
    scripted_cli.replies = [call("list_directory", path="~/Downloads"), answer("Listed.")]
    run(capsys, "what is in my downloads")
    assert memories(capsys, "episode") == []  # waiting for the next request's verdict
    scripted_cli.replies = [answer("Hello.")]
    run(capsys, "hello")
    [episode] = memories(capsys, "episode")
    assert episode["request"] == "what is in my downloads"


def test_an_undo_demotes_the_change_it_takes_back(
    scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "todo.txt"
    scripted_cli.replies = [
        call("write_file", path=str(target), content="milk\n"),
        answer("Saved."),
    ]
    run(capsys, "--yes", "save milk to todo.txt")
    assert target.exists()
    run(capsys, "--yes", "oops, undo that")
    assert not target.exists()
    scripted_cli.replies = [answer("Hello.")]
    run(capsys, "hello")
    assert memories(capsys, "episode") == []
