"""`llmos mcp serve`, driven over stdio by the `mcp` SDK's own client, as an agent would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tests.mcp_servers import free_port, listening
from tests.waiting import wait_until

HIDDEN = {"delete_path", "kill_process", "forget", "run_shell"}


def _env() -> dict[str, str]:
    """The test's isolated dirs for the server (the SDK passes only a few variables on)."""
    passed = ("LLMOS_", "XDG_", "HF_", "HOME")
    env = {k: v for k, v in os.environ.items() if k.startswith(passed)}
    env["LLMOS_MEMORY"] = "false"  # the memory store is not what is tested here
    return env


def serve(
    check: Callable[[Client], Awaitable[Any]],
    *flags: str,
    mode: str = "auto",
    elicit: Any = None,
) -> Any:
    """Start `llmos mcp serve FLAGS` and run `check` with a client connected to it."""

    async def main() -> Any:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "llmos_shell.cli", "mcp", "serve", *flags],
            env=_env(),
        )
        with open(os.devnull, "w") as errlog:
            async with Client(
                stdio_client(params, errlog=errlog),
                mode=mode,
                elicitation_callback=elicit,
                read_timeout_seconds=120,
            ) as client:
                return await check(client)

    return asyncio.run(asyncio.wait_for(main(), timeout=180))


def text(result: types.CallToolResult) -> str:
    """The text of a tool's result."""
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def test_lists_tools_with_hints_and_hides_destructive_ones(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello from a file\n", encoding="utf-8")

    async def check(client: Client) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        read = await client.call_tool("read_file", {"path": str(note)})
        hidden = await client.call_tool("delete_path", {"path": str(note)})
        return listed, read, hidden

    listed, read, hidden = serve(check)
    assert not HIDDEN & set(listed)
    assert "read_file" in listed and "write_file" in listed
    assert listed["read_file"].annotations.read_only_hint is True
    assert listed["write_file"].annotations.read_only_hint is False
    assert listed["write_file"].annotations.destructive_hint is False
    assert not read.is_error and "hello from a file" in text(read)
    assert hidden.is_error and "--allow-destructive" in text(hidden)
    assert note.exists()


def test_a_write_is_refused_when_the_client_cannot_ask_its_person(tmp_path: Path) -> None:
    target = tmp_path / "new.txt"

    async def check(client: Client) -> Any:
        return await client.call_tool("write_file", {"path": str(target), "content": "x"})

    result = serve(check)  # a client without an elicitation callback declares none
    assert result.is_error and text(result).startswith("not run:")
    assert not target.exists()


def test_a_call_the_policy_refuses_is_a_tool_error_and_no_one_is_asked(tmp_path: Path) -> None:
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"run": True})

    async def check(client: Client) -> Any:
        moved = {"source": "/etc", "destination": str(tmp_path / "etc")}
        return await client.call_tool("move_path", moved)

    result = serve(check, mode="legacy", elicit=elicit)
    assert result.is_error and text(result).startswith("not run: the policy refused it")
    assert asked == [] and Path("/etc").is_dir()


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28: asked by "input required"
def test_allow_destructive_lists_them_and_each_call_needs_the_person_s_yes(
    tmp_path: Path, mode: str
) -> None:
    keep, drop = tmp_path / "keep.txt", tmp_path / "drop.txt"
    keep.write_text("keep", encoding="utf-8")
    drop.write_text("drop", encoding="utf-8")
    asked: list[str] = []

    async def elicit(ctx: Any, params: Any) -> types.ElicitResult:
        asked.append(params.message)
        yes = "drop.txt" in params.message
        return types.ElicitResult(action="accept", content={"run": yes})

    async def check(client: Client) -> Any:
        listed = {t.name for t in (await client.list_tools()).tools}
        declined = await client.call_tool("delete_path", {"path": str(keep)})
        deleted = await client.call_tool("delete_path", {"path": str(drop)})
        assert (client.protocol_version in MODERN_PROTOCOL_VERSIONS) == (mode == "auto")
        return listed, declined, deleted

    listed, declined, deleted = serve(check, "--allow-destructive", mode=mode, elicit=elicit)
    assert HIDDEN <= listed
    assert declined.is_error and "declined" in text(declined) and keep.exists()
    assert not deleted.is_error and not drop.exists()
    assert len(asked) == 2 and "delete_path" in asked[0]
    audit = Path(os.environ["LLMOS_STATE_DIR"]) / "audit.jsonl"
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [r["approved_by"] for r in records] == [None, "person (through the MCP client)"]


def test_serves_streamable_http_on_loopback(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("over http\n", encoding="utf-8")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llmos_shell.cli", "mcp", "serve", "--http", str(port)],
        env={**os.environ, **_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def check() -> Any:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            return names, await client.call_tool("read_file", {"path": str(note)})

    try:
        wait_until(lambda: listening(port) or process.poll() is not None, "the server", 60)
        assert process.poll() is None, "llmos mcp serve --http ended at start"
        names, read = asyncio.run(asyncio.wait_for(check(), timeout=120))
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "read_file" in names and not HIDDEN & names
    assert not read.is_error and "over http" in text(read)
