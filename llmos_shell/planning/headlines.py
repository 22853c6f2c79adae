"""A result stated as the answer to what was asked: the tool's headline, filled from the result.

Each tool declares how its result answers a question (`@tool(headline=...)`): templates with
`{field}` (a field of the result), `{first.field}` (the first row of its main list),
`{rows.count}`, `{args.name}` (an argument of the call), tried in order (a value of several
lines, or too long for one line, skips its template); a template whose
words the request uses comes first ("used" picks the used-space line over the free-space
one), and a word `arg=value` holds a template to calls with that argument ("sort_by=memory").
A template that names a value the result lacks is skipped, so every value stated is one the
result holds. A tool without a headline gets the generic summary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.planning.answers import claims
from llmos_shell.registry import Tool

_FIELD = re.compile(r"\{([\w.]+)\}")


def _main_rows(data: Mapping[str, Any]) -> list[Any]:
    """The result's main list: the longest list of records, else the longest list."""
    lists = [v for v in data.values() if isinstance(v, list) and v]
    records = [v for v in lists if isinstance(v[0], Mapping)]
    return max(records or lists, key=len) if lists else []


def _lookup(data: Any, path: str, call: ToolCall) -> Any:
    parts = path.split(".")
    if parts[0] == "args":
        value: Any = call.arguments
        parts = parts[1:]
    elif parts[0] == "first" and isinstance(data, Mapping):
        rows = _main_rows(data)
        value = rows[0] if rows else None
        parts = parts[1:]
    else:
        value = data
    for part in parts:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list) and part == "count":
            value = len(value)
        else:
            return None
        if value is None:
            return None
    return value


MAX_VALUE_CHARS = 120  # a value longer than this, or of several lines, is no headline's


def _render(template: str, data: Any, call: ToolCall) -> str | None:
    values: dict[str, str] = {}
    for path in _FIELD.findall(template):
        value = _lookup(data, path, call)
        if value is None or isinstance(value, (dict, list)):
            return None
        text = f"{value:g}" if isinstance(value, float) else str(value).strip()
        # A headline is one line: a command's output of several lines is the table's.
        if not text or "\n" in text or len(text) > MAX_VALUE_CHARS:
            return None
        values[path] = text
    return _FIELD.sub(lambda m: values[m.group(1)], template)


def headline(tool: Tool, call: ToolCall, data: Any, request: str) -> str | None:
    """The tool's headline for this result, the template the request asks for first."""
    said = set(re.findall(r"[a-z0-9]+", request.lower()))
    asked: list[str] = []
    default: list[str] = []
    for words, template in tool.headline:
        # "sort_by=memory": the template states what only a call with that argument shows
        conditions = [w.split("=", 1) for w in words if "=" in w]
        if any(str(call.arguments.get(k, "")).lower() != v for k, v in conditions):
            continue
        plain = {w for w in words if "=" not in w}
        if plain & said:
            asked.append(template)
        elif not plain:
            default.append(template)
    for template in (*asked, *default):
        line = _render(template, data, call)
        if line:
            return line
    return None


def adds_to(answer: str, line: str) -> bool:
    """Whether an answer states a value the headline does not (so it is worth showing too)."""
    shown = line.lower()
    return any(claim.text.lower() not in shown for claim in claims(answer))


def result_answer(
    steps: list[tuple[ToolCall, Any]], tools: Mapping[str, Tool], text: str | None, request: str
) -> str | None:
    """The answer after calls ran: the last call's headline, with the model's own sentence
    after it only where the results confirm it and it states something the headline does
    not; without a headline, the model's confirmed sentence or the generic summary."""
    from llmos_shell.planning.answers import grounded_answer, summarize

    results = [data for _, data in steps]
    grounded = grounded_answer(text, results, request)
    call, data = steps[-1]
    tool = tools.get(call.tool)
    line = headline(tool, call, data, request) if tool is not None else None
    if line is None:
        return grounded or summarize(results, request)
    return f"{line}. {grounded}" if grounded and adds_to(grounded, line) else line


MAX_KNOWLEDGE_WORDS = 80
MIN_KNOWLEDGE_WORDS = 3
GENERAL_KNOWLEDGE = "General knowledge, not checked on this machine:"


def knowledge_answer(request: str, text: str | None) -> str | None:
    """The model's short answer to a question of general knowledge ("what is a symlink?"),
    marked as such; None for a question about this machine, or with no answer to show."""
    from llmos_shell.planning.answers import suggests_command
    from llmos_shell.planning.relevance import asks_general_knowledge

    if not asks_general_knowledge(request) or not text or not text.strip():
        return None
    said = " ".join(text.split()[:MAX_KNOWLEDGE_WORDS])
    if len(said.split()) < MIN_KNOWLEDGE_WORDS or suggests_command(said):
        return None  # a cut-off word ("The") is no answer
    return f"{GENERAL_KNOWLEDGE} {said}"
