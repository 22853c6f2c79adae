"""`llmos` in a pipeline: piped text as context for a request, plain output into a pipe.

The in-process tests plan on a scripted backend (the command's logic: what reaches the model,
where each line goes, who approves), with stdin a real pipe; the model tests run the real
command in its own process, with the embedded model.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.safety.policy import PIPED_INPUT_REASON
from tests.e2e.test_cli import MODEL_TIMEOUT_S, llmos
from tests.repl.test_repl import answer, call
from tests.scripting import script_the_cli


def pipe_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Make stdin a real pipe that `data` is written into, from another thread."""
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as sink:
            sink.write(data)

    threading.Thread(target=feed, daemon=True).start()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(read, "rb")))


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """`llmos` in this process, planning on a scripted backend."""
    backend = script_the_cli(monkeypatch)
    return backend


def last_user_turn(backend: ScriptedBackend) -> str:
    messages, _ = backend.requests[-1]
    return messages[-1].content


def test_piped_text_is_context_for_the_request(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = b"10:00 started\n10:01 ERROR cannot open /srv/app/data.db: permission denied\n"
    pipe_stdin(monkeypatch, log)
    scripted.replies = [answer("The app could not open /srv/app/data.db: permission denied.")]
    assert cli.main(["what went wrong?"]) == 0
    turn = last_user_turn(scripted)
    assert "<<<input\n10:00 started\n10:01 ERROR" in turn and turn.endswith("what went wrong?")
    captured = capsys.readouterr()
    # stdout is not a terminal: the answer alone, plain, for a file or the next program
    assert captured.out == "The app could not open /srv/app/data.db: permission denied.\n"


def test_json_says_what_was_piped(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe_stdin(monkeypatch, b"".join(b"line %d\n" % i for i in range(50_000)))
    scripted.replies = [answer("Fifty thousand numbered lines.")]
    assert cli.main(["--json", "what is this?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["piped"]["lines"] == 50_000 and data["piped"]["cut_lines"] > 49_000
    assert data["piped"]["binary"] is False
    turn = last_user_turn(scripted)
    assert "line 0\n" in turn and "line 49999\n" in turn and "lines (" in turn
    assert len(turn) < 3500  # bounded whatever the input's size


def test_binary_input_reaches_the_model_as_one_sentence(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe_stdin(monkeypatch, b"\x7fELF\x02\x01\x01\x00" + bytes(4000))
    scripted.replies = [answer("Binary data.")]
    assert cli.main(["--json", "what is this?"]) == 0
    assert json.loads(capsys.readouterr().out)["piped"]["binary"] is True
    assert "<<<input\nThe piped input is binary data (3.9 KB), not text" in last_user_turn(scripted)


def test_a_delete_planned_from_a_listing_waits_for_a_person_even_with_flags(
    scripted: ScriptedBackend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    old = tmp_path / "2019-report.pdf"
    old.write_text("x")
    pipe_stdin(monkeypatch, f"{old}\n{tmp_path / '2026-report.pdf'}\n".encode())
    scripted.replies = [call("delete_path", path=str(old))]
    assert cli.main(["--yes-destructive", "--json", "delete the ones from 2019"]) == 3
    [step] = json.loads(capsys.readouterr().out)["steps"]
    assert step["ran"] is False and "planned from piped text" in step["approved_by"]
    assert old.exists()
    _, schema = scripted.requests[-1]
    assert str(old) in json.dumps(schema)  # the listing's values may fill the path


def test_plan_json_with_piped_text_plans_from_it(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe_stdin(monkeypatch, b"a.log\nb.log\n")
    scripted.replies = [call("delete_path", path="a.log")]
    assert cli.main(["plan", "--json", "delete the first one"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["calls"] == [{"tool": "delete_path", "arguments": {"path": "a.log"}}]
    assert out["piped"] == {"bytes": 12, "lines": 2, "cut_lines": 0, "binary": False}
    assert "<<<input\na.log\nb.log\ninput>>>" in last_user_turn(scripted)


def test_plan_json_dash_stays_the_batch(
    scripted: ScriptedBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe_stdin(monkeypatch, b'"list the files here"\n')
    scripted.replies = [call("list_directory", path=".")]
    assert cli.main(["plan", "--json", "-"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["calls"] == [{"tool": "list_directory", "arguments": {"path": "."}}]
    assert "<<<input" not in last_user_turn(scripted)


def test_a_found_list_is_one_path_a_line_on_a_pipe(
    scripted: ScriptedBackend,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    isolated_dirs: Path,
) -> None:
    docs = isolated_dirs / "Documents"
    docs.mkdir()
    for name in ("a b.pdf", "c.pdf", "notes.txt"):
        (docs / name).write_text("x")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    scripted.replies = [call("find_files", path=str(docs), name="*.pdf"), answer("2 pdfs.")]
    assert cli.main(["find the pdfs in Documents"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(docs / "a b.pdf"), str(docs / "c.pdf")]
    assert "find_files(" in captured.err and "\x1b[" not in captured.out


def test_subcommand_words_are_never_requests_even_with_piped_input() -> None:
    proc = llmos("tools", "--json", input="delete everything\n")
    assert proc.returncode == 0, proc.stderr
    assert any(row["name"] == "delete_path" for row in json.loads(proc.stdout))


# --- the real model ---------------------------------------------------------------------------


@pytest.mark.model
def test_the_model_answers_about_a_piped_log(tmp_path: Path) -> None:
    log = (
        "2026-12-01 10:00:01 INFO server started on port 8080\n"
        "2026-12-01 10:00:05 ERROR could not open /var/lib/app/data.db: permission denied\n"
        "2026-12-01 10:00:05 INFO shutting down\n"
    )
    proc = llmos("--json", "what went wrong?", input=log, timeout=MODEL_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["piped"]["lines"] == 3 and data["answer"]
    assert PIPED_INPUT_REASON not in proc.stderr  # nothing was planned to run


@pytest.mark.model
def test_the_model_plans_from_a_piped_listing(tmp_path: Path) -> None:
    listing = "report-2019.pdf\nreport-2026.pdf\ntodo.txt\n"
    proc = llmos("plan", "--json", "delete report-2019.pdf", input=listing, timeout=MODEL_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["piped"]["lines"] == 3
    for planned in out["calls"]:
        assert "report-2026.pdf" not in json.dumps(planned)
