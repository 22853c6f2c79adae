"""The one JSON Schema reader: types and choices through anyOf, oneOf, allOf and type lists,
read the same by the argument kinds, the planner's slots and the signature people see."""

from __future__ import annotations

from typing import Any

import pytest

from llmos_shell.planning.slots import _enum_ok
from llmos_shell.registry.kinds import infer_kind
from llmos_shell.registry.schema_walk import choices, concrete, types

ONE_OF_ENUM: dict[str, Any] = {
    "oneOf": [{"type": "string", "enum": ["cpu", "memory"]}, {"type": "null"}]
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "string"}, ["string"]),
        ({"type": ["string", "null"]}, ["string"]),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, ["integer"]),
        ({"oneOf": [{"type": "number"}, {"anyOf": [{"type": "string"}]}]}, ["number", "string"]),
        ({"allOf": [{"type": "boolean"}]}, ["boolean"]),
        ({}, []),
    ],
)
def test_types(spec: dict[str, Any], expected: list[str]) -> None:
    assert types(spec) == expected


def test_choices_come_from_every_option_once() -> None:
    spec = {"anyOf": [{"enum": ["a", "b"]}, {"oneOf": [{"const": "c"}, {"enum": ["a"]}]}]}
    assert choices(spec) == ["a", "b", "c"]
    assert choices({"type": "string"}) == []


def test_the_first_option_that_says_what_a_value_is() -> None:
    assert concrete({"anyOf": [{"type": "null"}, {"type": "string"}]}) == {"type": "string"}
    assert concrete({"type": "string"}) is None


def test_the_planner_and_the_kinds_agree_on_a_one_of_enum() -> None:
    # The slots once read only anyOf, the kinds anyOf and oneOf: one took "disk" for a value.
    assert not _enum_ok(ONE_OF_ENUM, "disk")
    assert _enum_ok(ONE_OF_ENUM, "memory")
    assert infer_kind("sort_by", ONE_OF_ENUM).value == "choice"
