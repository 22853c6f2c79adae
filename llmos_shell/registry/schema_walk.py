"""One reader of JSON Schema for every part that asks what an argument accepts.

Tool schemas come from pydantic (`anyOf` with a `null` option for optional values), from
OpenAI-style specs and from MCP servers (`oneOf`, `allOf`, type lists). The planner's slots,
its example synthesis, the argument kinds and the signature shown to people all read them
here, so they agree on what an argument's types and choices are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_ALTERNATIVES = ("anyOf", "oneOf", "allOf")


def alternatives(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The schemas a value may match besides `spec` itself: its anyOf, oneOf and allOf
    options, nested ones included, depth first."""
    for key in _ALTERNATIVES:
        options = spec.get(key)
        if not isinstance(options, list):
            continue
        for option in options:
            if isinstance(option, Mapping):
                yield option
                yield from alternatives(option)


def types(spec: Mapping[str, Any]) -> list[str]:
    """The JSON types a value may have, in the order the schema names them; `null` left out."""
    found: list[str] = []
    for node in (spec, *alternatives(spec)):
        kind = node.get("type")
        names = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
        found += [k for k in names if isinstance(k, str) and k != "null" and k not in found]
    return found


def choices(spec: Mapping[str, Any]) -> list[Any]:
    """Every value an enum (or const) anywhere in the schema allows, in order, each once."""
    found: list[Any] = []
    for node in (spec, *alternatives(spec)):
        values = node.get("enum")
        values = list(values) if isinstance(values, list) else []
        if "const" in node:
            values.append(node["const"])
        found += [v for v in values if v not in found]
    return found


def concrete(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The first option that says what a value is (not `null`), or None when there is none."""
    for option in alternatives(spec):
        if option.get("type") != "null" and ("type" in option or "enum" in option):
            return option
    return None
