"""Argument kinds: declared by a tool, or read from the argument's schema."""

from __future__ import annotations

import pytest

from llmos_shell.errors import PluginError
from llmos_shell.registry import discover, tool
from llmos_shell.registry.kinds import Kind, argument_kinds, infer_kind


@pytest.mark.parametrize(
    ("name", "schema", "kind"),
    [
        ("max_results", {"type": "integer"}, Kind.COUNT),
        ("top_k", {"type": "integer"}, Kind.COUNT),
        ("pid", {"type": "integer"}, Kind.PID),
        ("temperature", {"type": "number"}, Kind.NUMBER),
        ("max_price", {"type": "number"}, Kind.NUMBER),
        ("start_date", {"type": "string"}, Kind.DATETIME),
        ("when", {"type": "string", "format": "date-time"}, Kind.DATETIME),
        ("departure", {"type": "string", "description": "date in YYYY-MM-DD"}, Kind.DATETIME),
        ("target_language", {"type": "string"}, Kind.NAME),
        ("start_location", {"type": "string"}, Kind.NAME),
        ("city", {"type": "string"}, Kind.NAME),
        ("file_path", {"type": "string"}, Kind.PATH),
        ("body", {"type": "string"}, Kind.TEXT),
        ("emailSubject", {"type": "string"}, Kind.TEXT),
        ("command", {"type": "string"}, Kind.COMMAND),
        ("unit", {"type": "string", "enum": ["c", "f"]}, Kind.CHOICE),
        ("notify", {"type": "boolean"}, Kind.FLAG),
        ("size", {"anyOf": [{"type": "string"}, {"type": "null"}]}, Kind.SIZE),
    ],
)
def test_kinds_are_read_from_names_types_and_descriptions(
    name: str, schema: dict[str, object], kind: Kind
) -> None:
    assert infer_kind(name, schema) is kind


def test_declared_kinds_win_and_are_checked() -> None:
    @tool(kinds={"where": "path", "n": "count"})
    def back_up(where: str, n: int = 3, label: str = "") -> str:
        """Back up a folder."""
        return where

    assert back_up.kinds == {"where": Kind.PATH, "n": Kind.COUNT, "label": Kind.NAME}
    with pytest.raises(PluginError, match="not a parameter"):

        @tool(kinds={"nowhere": "path"})
        def bad(where: str) -> str:
            """Bad."""
            return where

    with pytest.raises(PluginError, match="is not one of"):

        @tool(kinds={"where": "folder-ish"})
        def worse(where: str) -> str:
            """Worse."""
            return where


def test_every_built_in_argument_has_a_kind_the_planner_uses() -> None:
    for item in discover(None):
        kinds = item.kinds
        assert set(kinds) == set(item.parameters_schema().get("properties", {}))
        assert all(isinstance(kind, Kind) for kind in kinds.values())


def test_kinds_of_a_spec_tool() -> None:
    schema = {
        "type": "object",
        "properties": {
            "to": {"type": "string"},
            "subject": {"type": "string"},
            "body": {"type": "string", "description": "the text of the message"},
            "send_at": {"type": "string", "format": "date-time"},
            "urgent": {"type": "boolean"},
        },
    }
    assert argument_kinds(schema) == {
        "to": Kind.NAME,
        "subject": Kind.TEXT,
        "body": Kind.TEXT,
        "send_at": Kind.DATETIME,
        "urgent": Kind.FLAG,
    }
