"""MCP servers as a tool source: a real server process (tests/mcp_servers/notes_server.py),
over stdio and over streamable HTTP on loopback, declared in config.toml as a person would.

Planning runs on the scripted backend (the pipeline's logic); the server, the SDK's client,
the policy, the executor and the audit are the real ones.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from llmos_shell import cli
from llmos_shell.app import App
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Risk, ToolCall
from llmos_shell.config import load_config
from llmos_shell.registry.mcp_source import INSTALL_HINT
from tests.mcp_servers import free_port, listening
from tests.scripting import script_the_cli
from tests.waiting import wait_until

SERVER = Path(__file__).resolve().parents[1] / "mcp_servers" / "notes_server.py"


def answer(text: str) -> dict[str, Any]:
    """A scripted reply that answers in words."""
    return {"answer": text}


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    """A scripted reply that calls a tool."""
    return {"tool": tool, "arguments": arguments}


def toml_value(value: Any) -> str:
    """A value as TOML (JSON's strings, lists and numbers are TOML's too)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write_config(servers: dict[str, dict[str, Any]]) -> Path:
    """config.toml with one [mcp_servers.NAME] table per server."""
    lines = []
    for name, table in servers.items():
        lines.append(f"[mcp_servers.{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in table.items())
    path = Path(os.environ["LLMOS_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def notes(isolated_dirs: Path) -> Path:
    """~/notes with two notes in it (the server finds it through `~` in its env table)."""
    folder = isolated_dirs / "notes"
    folder.mkdir()
    (folder / "milk.txt").write_text("buy milk", encoding="utf-8")
    (folder / "call.txt").write_text("call Ana", encoding="utf-8")
    return folder


def stdio_table(**extra: Any) -> dict[str, Any]:
    """The notes server as a stdio table."""
    return {
        "command": sys.executable,
        "args": [str(SERVER)],
        "env": {"NOTES_DIR": "~/notes"},
        **extra,
    }


@pytest.fixture
def http_server(notes: Path) -> Iterator[str]:
    """The notes server on streamable HTTP, on a free loopback port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        env={**os.environ, "NOTES_DIR": str(notes)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listening(port) or process.poll() is not None, "the server", 30)
        assert process.poll() is None, "the HTTP notes server ended at start"
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["stdio", "http"])
def transport(request: pytest.FixtureRequest, notes: Path) -> dict[str, Any]:
    """The notes server's table, over each transport."""
    if request.param == "stdio":
        return stdio_table()
    return {"url": request.getfixturevalue("http_server")}


@pytest.fixture
def app(notes: Path) -> Iterator[App]:
    """An app over config.toml (written by the test before it asks for the registry)."""
    made: list[App] = []

    def build() -> App:
        made.append(App(config=load_config()))
        return made[-1]

    yield build  # type: ignore[misc]
    for each in made:
        each.close()


def test_tools_are_listed_with_their_risk_and_source(transport: dict[str, Any], app: Any) -> None:
    write_config({"notes": transport})
    registry = app().registry
    assert registry.warnings == []
    risks = {t.name: t.risk for t in registry if t.source == "mcp:notes"}
    assert risks == {
        "count_notes": Risk.READ_ONLY,
        "add_note": Risk.WRITE,
        "wipe_notes": Risk.DESTRUCTIVE,
        "shout": Risk.UNKNOWN,  # no annotations: a person is always asked
        "wait_a_while": Risk.READ_ONLY,
        "crash_server": Risk.READ_ONLY,
    }
    assert not any(t.reversible for t in registry if t.source == "mcp:notes")
    assert "read_file" in registry  # the built-ins stay
    schema = registry.get("add_note").parameters_schema()
    assert schema["required"] == ["title", "text"] and schema["additionalProperties"] is False


def test_a_read_only_tool_is_planned_and_run_through_the_session(
    transport: dict[str, Any], app: Any
) -> None:
    write_config({"notes": transport})
    made = app()
    made._backend = ScriptedBackend([call("count_notes"), answer("You have 2 notes.")])
    outcome = made.session().run("how many notes do I have?")
    [step] = outcome.steps
    assert step.call.tool == "count_notes" and step.approval is not None
    assert step.approval.by == "policy"  # read-only: no one needs to be asked
    assert step.result is not None and step.result.ok
    assert step.result.data == "2 notes: call.txt, milk.txt"
    [record] = [json.loads(line) for line in made.config.paths.audit_log.read_text().splitlines()]
    assert record["call"]["tool"] == "count_notes"


def test_the_person_s_tool_risk_replaces_the_annotations(notes: Path, app: Any) -> None:
    write_config(
        {"notes": stdio_table(tool_risk={"shout": "read-only", "add_note": "destructive"})}
    )
    registry = app().registry
    assert registry.get("shout").risk is Risk.READ_ONLY
    assert registry.get("add_note").risk is Risk.DESTRUCTIVE


@pytest.fixture
def scripted_cli(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    """`llmos` in this process, planning on a scripted backend, with a stdin that is no tty."""
    backend = script_the_cli(monkeypatch)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return backend


def test_one_shot_runs_a_read_only_mcp_tool(
    notes: Path, scripted_cli: ScriptedBackend, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config({"notes": stdio_table()})
    scripted_cli.replies = [call("count_notes"), answer("You have 2 notes.")]
    assert cli.main(["--json", "how many notes do I have?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "answered"
    assert data["steps"][0]["tool"] == "count_notes" and data["steps"][0]["ok"] is True


def test_tools_json_names_the_mcp_source(notes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config({"notes": stdio_table()})
    assert cli.main(["tools", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["count_notes"]["source"] == "mcp:notes"
    assert (
        rows["wipe_notes"]["risk"] == "destructive" and rows["read_file"]["source"] != "mcp:notes"
    )


@pytest.mark.parametrize(
    ("tool", "flags"),
    [("wipe_notes", ["--yes"]), ("shout", ["--yes", "--yes-destructive"])],
)
def test_a_destructive_or_unknown_tool_does_not_run_without_a_person_s_yes(
    notes: Path,
    scripted_cli: ScriptedBackend,
    capsys: pytest.CaptureFixture[str],
    tool: str,
    flags: list[str],
) -> None:
    write_config({"notes": stdio_table()})
    arguments = {"text": "hi"} if tool == "shout" else {}
    scripted_cli.replies = [call(tool, **arguments)]
    assert cli.main([*flags, "--json", "do it"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "declined" and data["steps"][0]["ran"] is False
    assert sorted(p.name for p in notes.iterdir()) == ["call.txt", "milk.txt"]


def test_a_server_that_fails_to_start_is_one_line_and_the_built_ins_work(
    notes: Path, app: Any, tmp_path: Path
) -> None:
    write_config(
        {
            "broken": {"command": str(tmp_path / "no-such-server")},
            "notes": stdio_table(),
        }
    )
    made = app()
    [warning] = made.registry.warnings
    assert warning.startswith("MCP server 'broken'") and "\n" not in warning
    assert "count_notes" in made.registry
    step = made.session(planning=False).run_call(
        ToolCall("read_file", {"path": str(notes / "milk.txt")}), request="read milk"
    )
    assert step.result is not None and step.result.ok


def test_a_server_that_never_answers_is_skipped_within_its_timeout(app: Any) -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    write_config({"silent": {**silent, "startup_timeout_sec": 1}})
    started = time.monotonic()
    made = app()
    [warning] = made.registry.warnings
    assert "did not start within 1 s" in warning
    assert "read_file" in made.registry
    assert time.monotonic() - started < 15  # 1 s to give up, then the SDK's stop of the process


def test_a_server_killed_mid_call_is_one_error_for_that_call(notes: Path, app: Any) -> None:
    write_config({"notes": stdio_table()})
    session = app().session(planning=False)  # crash_server is read-only: it runs unasked
    crashed = session.run_call(ToolCall("crash_server", {}), request="crash it")
    assert crashed.result is not None and not crashed.result.ok
    assert crashed.result.error is not None
    assert (
        crashed.result.error.startswith("MCP server 'notes'") and "\n" not in crashed.result.error
    )
    after = session.run_call(ToolCall("count_notes", {}), request="count")
    assert after.result is not None and not after.result.ok
    assert "is not running" in (after.result.error or "")


def test_a_call_past_the_server_s_tool_timeout_is_one_error(notes: Path, app: Any) -> None:
    write_config({"notes": stdio_table(tool_timeout_sec=1)})
    session = app().session(planning=False)
    slow = session.run_call(ToolCall("wait_a_while", {"seconds": 30}), request="wait")
    assert slow.result is not None and not slow.result.ok
    assert "did not answer within 1 s" in (slow.result.error or "")
    quick = session.run_call(ToolCall("wait_a_while", {"seconds": 0}), request="wait")
    assert quick.result is not None and quick.result.data == "waited 0 s"


def test_without_the_sdk_one_line_says_how_to_install_it(
    notes: Path, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config({"notes": stdio_table()})
    monkeypatch.setitem(sys.modules, "mcp", None)  # as if it were not installed
    made = app()
    [warning] = made.registry.warnings
    assert INSTALL_HINT in warning and "notes" in warning
    assert "read_file" in made.registry and "count_notes" not in made.registry


def test_a_disabled_server_is_not_started(notes: Path, app: Any) -> None:
    write_config({"notes": stdio_table(enabled=False)})
    made = app()
    assert made.registry.warnings == [] and "count_notes" not in made.registry


def test_help_and_config_start_no_server(notes: Path, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    write_config(
        {"notes": {"command": sys.executable, "args": ["-c", f"open({str(marker)!r}, 'w')"]}}
    )
    env = {**os.environ}
    for argv in (["--help"], ["config"]):
        done = subprocess.run(
            [sys.executable, "-m", "llmos_shell.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert "mcp_servers = { notes = { command = " in done.stdout
