"""`llmos` in this process on a scripted backend: the command's own logic, exit codes, undo.

`cli.main` runs here with a scripted plan, so each test decides what is planned and checks
what the command does with it: approvals by flag, declines without a terminal, exit statuses,
and undo (run as a separate process, as a person runs it).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.backends.scripted import ScriptedBackend
from tests.e2e.test_cli import llmos
from tests.repl.test_repl import answer, call
from tests.scripting import script_the_cli


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.jsonl"


@pytest.fixture
def scripted_cli(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """`llmos` in this process, planning on a scripted backend, with a stdin that is no tty."""
    backend = script_the_cli(monkeypatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return backend


def test_no_terminal_means_a_write_is_declined_with_status_3(
    scripted_cli: ScriptedBackend,
    workdir: Path,
    audit_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = workdir / "todo.txt"
    scripted_cli.replies = [call("write_file", path=str(target), content="milk\n")]
    assert cli.main(["save milk to todo.txt"]) == 3  # text mode: only the tty check says no
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is a pipe: it holds values only, and none came
    err = captured.err.replace("\n", " ")
    [declined] = err.split("Not run: ")[1:]
    assert declined.startswith("write_file (") and "--yes" in declined
    assert not target.exists()
    [record] = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert record["approved_by"] is None


def test_yes_approves_a_write_but_not_a_delete(
    scripted_cli: ScriptedBackend, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = workdir / "todo.txt"
    scripted_cli.replies = [
        call("write_file", path=str(target), content="milk\n"),
        answer("Saved."),
        call("delete_path", path=str(target)),
    ]
    assert cli.main(["--yes", "--json", "save milk to todo.txt"]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["status"] == "answered" and saved["steps"][0]["approved_by"] == "--yes flag"
    assert target.read_text() == "milk\n"
    assert cli.main(["--yes", "--json", "delete todo.txt"]) == 3
    assert json.loads(capsys.readouterr().out)["status"] == "declined"
    assert target.exists()


def test_a_failed_tool_exits_2_even_after_an_answer(
    scripted_cli: ScriptedBackend, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(workdir / "missing.txt")
    scripted_cli.replies = [call("read_file", path=missing), answer("It is not there.")]
    assert cli.main(["--json", "show missing.txt"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "tool_failed"


@pytest.mark.parametrize("command", [[], ["plan"], ["suggest"], ["plan", "--json"]])
def test_an_empty_request_is_a_usage_error(
    scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert cli.main([*command, "   "]) == 64
    captured = capsys.readouterr()
    assert captured.err == "llmos: error: the request is empty; type what you want in plain words\n"
    assert captured.out == ""
    assert scripted_cli.requests == []  # the model was not asked


def test_undo_reverses_a_rename_made_by_an_earlier_command(
    scripted_cli: ScriptedBackend,
    workdir: Path,
    audit_log: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    draft, final = workdir / "draft.txt", workdir / "final.txt"
    draft.write_text("text\n")
    scripted_cli.replies = [
        call("move_path", source=str(draft), destination=str(final)),
        answer("Renamed."),
    ]
    assert cli.main(["--yes", "rename draft.txt to final.txt"]) == 0
    capsys.readouterr()

    listed = llmos("undo", "--list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["actions"]
    assert row["action"] == f"renamed {draft} to final.txt"
    assert (row["request"], row["status"]) == ("rename draft.txt to final.txt", "can be undone")

    proc = llmos("undo")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"undone: moved {final} back to {draft}"]
    assert draft.read_text() == "text\n" and not final.exists()
    undo_record = json.loads(audit_log.read_text().splitlines()[-1])
    assert undo_record["call"] == {"tool": "undo", "arguments": {"count": 1}}
    assert undo_record["request"] == "llmos undo 1"
    assert undo_record["outcome"]["status"] == "ok"

    again = llmos("undo", "3")
    assert again.returncode == 0
    assert "Nothing to undo" in again.stdout


def test_undo_says_which_actions_cannot_be_undone(
    scripted_cli: ScriptedBackend,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(workdir)  # the folder the person is in, which the sandbox lets it write
    out = workdir / "out.txt"
    scripted_cli.replies = [call("run_shell", command=f"echo hi > {out}"), answer("Done.")]
    assert cli.main(["--yes-destructive", "write hi into out.txt"]) == 0
    capsys.readouterr()

    proc = llmos("undo")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.splitlines() == [
        f"not undone: run_shell: echo hi > {out}: llmos cannot know what a shell command changed",
        "Nothing more to undo.",
    ]
    assert out.read_text() == "hi\n"
    bad = llmos("undo", "0")
    assert bad.returncode == 64
    assert bad.stderr == "llmos: error: N must be a number from 1 to 500, not 0\n"
