"""Conversations that outlive the process: `llmos --continue` in a new process, `/resume`.

The `llmos` processes are real and separate; they plan on the openai backend against a
loopback server that answers as a model would (tests/e2e/model_server.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.model_server import ModelServer, environment, model_server
from tests.e2e.test_cli import llmos


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with model_server() as running:
        yield running


def context_of(messages: list[dict[str, object]]) -> str:
    """The notes about earlier turns that the planner put before the request."""
    return "\n".join(
        str(m["content"])
        for m in messages
        if m["role"] == "system" and "request before" in str(m["content"])
    )


def test_continue_carries_the_last_turn_into_a_new_process(
    server: ModelServer, tmp_path: Path
) -> None:
    docs, downloads = tmp_path / "Documents", tmp_path / "Downloads"
    for folder in (docs, downloads):
        folder.mkdir()
        (folder / f"{folder.name.lower()}.pdf").write_text("x")
    server.replies = {
        f"list the files in {docs}": {"tool": "list_directory", "arguments": {"path": str(docs)}},
        "now the same in": {"tool": "list_directory", "arguments": {"path": str(downloads)}},
        "Result of list_directory": {"answer": "One file."},
    }
    env = environment(server)
    first = llmos("--json", f"list the files in {docs}", env=env)
    assert first.returncode == 0, first.stderr
    conversation = json.loads(first.stdout)["conversation"]

    second = llmos("--continue", "--json", f"now the same in {downloads}", env=env)
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["conversation"] == conversation  # the same conversation, kept going
    assert [s["arguments"] for s in data["steps"]] == [{"path": str(downloads)}]
    planned = [m for m in server.requests if "now the same in" in str(m[-1]["content"])]
    said = context_of(planned[0])
    assert f"list the files in {docs}" in said and "documents.pdf" in said

    alone = llmos("--json", f"now the same in {downloads}", env=env)  # no -c: a new one
    assert json.loads(alone.stdout)["conversation"] != conversation
    assert context_of(server.requests[-1]) == ""


def test_a_declined_call_stays_declined_in_the_next_process(
    server: ModelServer, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n")
    delete = {"tool": "delete_path", "arguments": {"path": str(notes)}}
    server.replies = {f"delete {notes}": delete, "do it": delete}
    env = environment(server)
    first = llmos("--json", f"delete {notes}", env=env)
    assert first.returncode == 3 and json.loads(first.stdout)["status"] == "declined"

    again = llmos("-c", "--json", "ok do it", env=env)
    assert again.returncode == 3, again.stderr
    assert json.loads(again.stdout)["status"] == "declined"
    assert notes.read_text() == "keep me\n"
    said = context_of(server.requests[-1])
    assert "the person declined it" in said


def test_continue_with_nothing_kept_says_so_and_runs_the_request(server: ModelServer) -> None:
    server.replies = {"hello": {"answer": "Hello!"}}
    proc = llmos("-c", "--json", "hello", env=environment(server))
    assert proc.returncode == 0, proc.stderr
    assert "no earlier conversation is kept" in proc.stderr
    assert json.loads(proc.stdout)["answer"] == "Hello!"
