"""What kind of value each tool argument holds: a path, a size, a count, free text, a name...

The planner fills, constrains and tidies arguments by their kind, never by a tool's or an
argument's name, so a plugin's tool is planned as well as a built-in. A tool may declare its
arguments' kinds (`@tool(kinds={"path": "path"})`); otherwise they are read from each
argument's JSON Schema: its type, enum and format, then the table in
`prompts/argument_kinds.json` of what names and descriptions say.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from llmos_shell.registry.schema_walk import choices, types


class Kind(str, enum.Enum):
    """The kinds of argument value the planner knows how to ground."""

    PATH = "path"  # a file or folder
    SIZE = "size"  # "10MB"
    AGE = "age"  # "7d", "last week"
    GLOB = "glob"  # "*.pdf", or a part of a name
    PID = "pid"  # a process id
    PROCESS = "process"  # a program's name
    COUNT = "count"  # how many results
    COUNT_FIRST = "count-first"  # the first N (lines, items)
    COUNT_LAST = "count-last"  # the last N
    TEXT = "text"  # text written out: file contents, a message, a note
    COMMAND = "command"  # a shell command line
    PATTERN = "pattern"  # text to search for
    DATETIME = "datetime"  # a date or time, written in the format the tool wants
    CHOICE = "choice"  # one of the schema's enum values
    FLAG = "flag"  # a yes/no switch
    NUMBER = "number"  # any other number
    NAME = "name"  # any other string: a value the request names

    @property
    def is_count(self) -> bool:
        """Whether the value is how many of something to return."""
        return self in (Kind.COUNT, Kind.COUNT_FIRST, Kind.COUNT_LAST)

    @property
    def free_text(self) -> bool:
        """Whether the value is written rather than copied from the request."""
        return self in (Kind.TEXT, Kind.COMMAND, Kind.DATETIME)


_FORMATS = {"date": Kind.DATETIME, "date-time": Kind.DATETIME, "time": Kind.DATETIME}


@functools.lru_cache(maxsize=1)
def _cues() -> dict[str, list[tuple[Kind, frozenset[str], tuple[str, ...]]]]:
    from llmos_shell.prompts import load_prompt

    table = json.loads(load_prompt("argument_kinds.json"))
    return {
        family: [
            (Kind(entry["kind"]), frozenset(entry["name"]), tuple(entry.get("description", ())))
            for entry in table[family]
        ]
        for family in ("string", "integer")
    }


def _head_word(name: str) -> str:
    """The last word of an argument's name, which says what it is (`max_results`: results)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]
    return words[-1] if words else ""


def _types(schema: Mapping[str, Any]) -> set[str]:
    return set(types(schema))


def _enum(schema: Mapping[str, Any]) -> list[Any]:
    return choices(schema)


def infer_kind(name: str, schema: Mapping[str, Any]) -> Kind:
    """The kind of an argument that did not declare one, from its name and schema."""
    if _enum(schema):
        return Kind.CHOICE
    types = _types(schema)
    if types == {"array"} and isinstance(schema.get("items"), dict):
        return infer_kind(name, {**schema["items"], "description": schema.get("description", "")})
    if "boolean" in types:
        return Kind.FLAG
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt]
    head = _head_word(name)
    description = " ".join(str(schema.get("description") or "").lower().split())
    if types & {"integer", "number"} and "string" not in types:
        family = "integer"
    elif "string" in types or not types:
        family = "string"
    else:
        return Kind.NAME if "string" in types else Kind.NUMBER
    for kind, cue_words, cue_phrases in _cues()[family]:
        if head in cue_words or any(phrase in description for phrase in cue_phrases):
            return kind
    return Kind.NUMBER if family == "integer" else Kind.NAME


def argument_kinds(
    schema: Mapping[str, Any], declared: Mapping[str, str] | None = None
) -> dict[str, Kind]:
    """The kind of every property of a tool's parameters schema; declared kinds win."""
    declared = declared or {}
    kinds = {}
    for name, spec in (schema.get("properties") or {}).items():
        if name in declared:
            kinds[name] = Kind(declared[name])
        else:
            kinds[name] = infer_kind(name, spec if isinstance(spec, dict) else {})
    return kinds
