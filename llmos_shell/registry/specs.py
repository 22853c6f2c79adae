"""Tools given as OpenAI-style specs: planned for, never executed (`llmos plan --json -`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic

from llmos_shell.calls import Risk
from llmos_shell.errors import LlmosError, ToolSpecError
from llmos_shell.registry import Registry, Tool

# Keywords whose grammars llama.cpp builds slowly or not at all; validation keeps them out
# of the model's way rather than rejecting the tool.
_DROPPED = {
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "title",
    "examples",
    "$schema",
}
# Type names seen in function-calling data sets beyond JSON Schema's own.
_TYPE_ALIASES = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "int": "integer",
    "str": "string",
    "bool": "boolean",
    "list": "array",
}
_JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
SPEC_NAME = _NAME  # the names a tool described by a schema may have (MCP tools too)


class _AnyArguments(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")


def _not_executable(**_: Any) -> Any:
    raise LlmosError("this tool was only described to the planner; it cannot run here")


def tools_from_specs(specs: Sequence[Any]) -> Registry:
    """A registry of described-only tools from OpenAI `tools` entries (or bare functions)."""
    if not isinstance(specs, list) or not specs:
        raise ToolSpecError("`tools` must be a non-empty list of tool specs")
    tools: list[Tool] = []
    for position, spec in enumerate(specs):
        function = spec.get("function", spec) if isinstance(spec, dict) else None
        if not isinstance(function, dict):
            raise ToolSpecError(f"tools[{position}] is not an object")
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ToolSpecError(f"tools[{position}] has no usable name ({name!r})")
        if any(t.name == name for t in tools):
            raise ToolSpecError(f"tools[{position}]: the name {name!r} is given twice")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise ToolSpecError(f"tools[{position}] ({name}): parameters must be an object")
        tools.append(
            Tool(  # described only: a permissive model, a function that refuses to run
                name=name,
                description=" ".join(str(function.get("description") or name).split()),
                args_model=_AnyArguments,
                func=_not_executable,
                risk=Risk.READ_ONLY,
                schema=normalize_schema(parameters, top=True),
            )
        )
    registry = Registry()
    registry.include(SpecSource(tuple(tools)))
    return registry


@dataclass(frozen=True)
class SpecSource:
    """Tools a request describes by their specs (`plan --json -`): planned for, never run."""

    tools: tuple[Tool, ...]
    name: str = "request"

    def list_tools(self) -> list[Tool]:
        """The described tools, already checked."""
        return list(self.tools)

    def close(self) -> None:
        """Nothing to let go of."""


def normalize_schema(node: Any, *, top: bool = False) -> dict[str, Any]:
    """A JSON Schema the grammar engine handles: standard types, known keys, closed objects."""
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            mapped = [_TYPE_ALIASES.get(str(k), str(k)) for k in kinds]
            mapped = [k for k in mapped if k in _JSON_TYPES]
            if mapped:
                out["type"] = mapped[0] if len(mapped) == 1 else mapped
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {str(k): normalize_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = normalize_schema(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [normalize_schema(v) for v in value]
        elif key == "enum" and isinstance(value, list) and value:
            out["enum"] = value
        elif key in (
            "required",
            "const",
            "minItems",
            "maxItems",
            "minimum",
            "maximum",
            "description",
            "additionalProperties",
            "default",
        ):
            out[key] = value
    if top:
        out["type"] = "object"
        out.setdefault("properties", {})
    if "properties" in out:  # a described object is closed; a bare {"type": "object"} is not
        props = out["properties"]
        required = out.get("required")
        out["required"] = [r for r in required if r in props] if isinstance(required, list) else []
        if not out["required"]:
            out.pop("required")
        out.setdefault("additionalProperties", False)
    else:
        out.pop("required", None)
    return out
