"""How MCP's tool annotations become a risk, and how a server table is checked."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pydantic
import pytest

from llmos_shell.calls import Risk
from llmos_shell.config.settings import McpServer, render_toml_value
from llmos_shell.registry.mcp_source import annotation_risk

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def hints(**given: bool) -> SimpleNamespace:
    """Annotations with only the given hints set, as the SDK reads them."""
    names = ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint")
    return SimpleNamespace(**{name: given.get(name) for name in names})


@pytest.mark.parametrize(
    ("annotations", "risk"),
    [
        (None, Risk.UNKNOWN),
        (hints(), Risk.UNKNOWN),
        (hints(read_only_hint=True), Risk.READ_ONLY),
        (hints(read_only_hint=True, destructive_hint=True), Risk.READ_ONLY),
        (hints(destructive_hint=True), Risk.DESTRUCTIVE),
        (hints(read_only_hint=False, destructive_hint=True), Risk.DESTRUCTIVE),
        (hints(read_only_hint=False, destructive_hint=False), Risk.WRITE),
        (hints(read_only_hint=False, destructive_hint=False, open_world_hint=True), Risk.NETWORK),
        (hints(read_only_hint=False), Risk.UNKNOWN),  # MCP's default is destructive: no yes
        (hints(destructive_hint=False), Risk.UNKNOWN),
        (hints(idempotent_hint=True), Risk.UNKNOWN),
    ],
)
def test_annotations_give_the_risk(annotations: object, risk: Risk) -> None:
    assert annotation_risk(annotations) is risk


@pytest.mark.parametrize(
    "table",
    [
        {},
        {"command": "x", "url": "http://127.0.0.1:1/mcp"},
        {"url": "ftp://example.org"},
        {"command": "x", "tool_risk": {"a": "harmless"}},
        {"command": "x", "cwd": "/tmp"},
    ],
)
def test_a_bad_server_table_is_refused(table: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        McpServer.model_validate(table)


def test_a_server_table_renders_as_toml_that_reads_back() -> None:
    server = McpServer(
        command="python3", args=["s.py"], env={"A B": "~/x"}, tool_risk={"t": Risk.WRITE}
    )
    text = "servers = " + render_toml_value({"notes": server.model_dump(mode="json")})
    back = tomllib.loads(text)["servers"]["notes"]
    assert McpServer.model_validate(back) == server
