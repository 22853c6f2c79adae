"""Example requests for tools that come without any: read from their name, purpose and schema.

The shortlist matches a request against example requests, and the model copies the shape of
the example turns it is shown; a tool with no examples is matched by its description alone
and, with only answer examples beside it, a small model learns to answer. So each such tool
gets a few examples made from what it says about itself:

- its purpose, the description's first clause ("current weather conditions for a place");
- its name as words ("get weather");
- the name's words with sample values for its required arguments ("get weather Lyon,
  France"), with the call those values make.

Sample values come from the schema: an enum's first value, an example in the argument's
description ("e.g. 'Lyon, France'"), a bound, or a value of the argument's kind. Declared
examples always come first; these are only for tools that have none.
"""

from __future__ import annotations

import re
from typing import Any

from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind
from llmos_shell.registry.schema_walk import concrete

_EXAMPLE_IN_TEXT = re.compile(
    r"""(?:e\.g\.?|for example|such as|like)[,:]?\s*(?:'([^']+)'|"([^"]+)"|`([^`]+)`|([^,;)]+))""",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;:(]|\s-\s|\s—\s")
_SAMPLE_BY_KIND: dict[Kind, Any] = {
    Kind.PATH: "notes.txt",
    Kind.SIZE: "10MB",
    Kind.AGE: "7d",
    Kind.GLOB: "*.txt",
    Kind.PID: 4242,
    Kind.PROCESS: "firefox",
    Kind.COUNT: 5,
    Kind.COUNT_FIRST: 5,
    Kind.COUNT_LAST: 5,
    Kind.TEXT: "see you at noon",
    Kind.COMMAND: "ls -l",
    Kind.PATTERN: "todo",
    Kind.DATETIME: "2026-03-14 15:00",
    Kind.NUMBER: 3,
    Kind.FLAG: True,
}


def purpose(description: str) -> str:
    """The first clause of a description, as a request would say it."""
    text = " ".join(description.split())
    clause = _CLAUSE_END.split(text, maxsplit=1)[0].strip()
    return clause[:1].lower() + clause[1:] if clause else ""


def name_words(name: str) -> str:
    """A tool's name as words: get_weather -> "get weather", listIssues -> "list issues"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return " ".join(w for w in re.split(r"[^a-zA-Z0-9]+", spaced) if w).lower()


def sample_value(name: str, spec: dict[str, Any], kind: Kind) -> Any:
    """A plausible value for one argument, taken from its schema where it says one."""
    for key in ("enum", "examples"):
        values = spec.get(key)
        if isinstance(values, list) and values:
            return values[0]
    if "default" in spec and spec["default"] is not None:
        return spec["default"]
    option = concrete(spec)
    if option is not None:
        return sample_value(name, dict(option), kind)
    found = _EXAMPLE_IN_TEXT.search(str(spec.get("description") or ""))
    kind_of = spec.get("type")
    if found and kind_of in (None, "string"):
        value = next(g for g in found.groups() if g).strip().rstrip(".")
        if value:
            return value
    if kind_of in ("integer", "number"):
        low, high = spec.get("minimum"), spec.get("maximum")
        if isinstance(low, (int, float)):  # just above the floor: a floor of 0 is rarely asked
            return low + 1 if not isinstance(high, (int, float)) or high >= low + 1 else low
        return _SAMPLE_BY_KIND.get(kind, 3)
    if kind_of == "boolean":
        return True
    if kind_of == "array":
        return [sample_value(name, spec.get("items") or {}, kind)]
    if kind_of == "object":
        return {}
    return _SAMPLE_BY_KIND.get(kind, name_words(name))


def synthesized_examples(item: Tool) -> list[tuple[str, dict[str, Any]]]:
    """(request, arguments) pairs for a tool that has no examples of its own."""
    schema = item.parameters_schema()
    required = [r for r in schema.get("required") or [] if r in schema.get("properties", {})]
    arguments = {
        name: sample_value(name, schema["properties"][name], item.kinds.get(name, Kind.NAME))
        for name in required
    }
    words = name_words(item.name)
    said = " ".join(str(v) for v in arguments.values() if isinstance(v, (str, int, float)))
    out: list[tuple[str, dict[str, Any]]] = []
    if said:
        out.append((f"{words} {said}".strip(), arguments))
    for request in (purpose(item.description), words):
        if request and all(request != r for r, _ in out):
            out.append((request, arguments))
    return out
