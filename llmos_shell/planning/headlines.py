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
from collections.abc import Callable, Mapping
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.planning.answers import AnswerGate
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


def result_gate(
    steps: list[tuple[ToolCall, Any]],
    tools: Mapping[str, Tool],
    request: str,
    show: Callable[[str], None] | None = None,
) -> AnswerGate:
    """The answer after calls ran, checked as it streams: the last call's headline at once,
    then the model's sentences the results confirm where they state something it does not."""
    results = [data for _, data in steps]
    call, data = steps[-1]
    tool = tools.get(call.tool)
    line = headline(tool, call, data, request) if tool is not None else None
    return AnswerGate.grounded(results, request, new_to=line, head=line, show=show)


def result_answer(
    steps: list[tuple[ToolCall, Any]], tools: Mapping[str, Tool], text: str | None, request: str
) -> str | None:
    """The answer after calls ran: the last call's headline, with the model's own sentence
    after it only where the results confirm it and it states something the headline does
    not; without a headline, the model's confirmed sentence or the generic summary."""
    from llmos_shell.planning.answers import summarize

    gate = result_gate(steps, tools, request)
    gate.feed(text or "")
    gate.close()
    return gate.answer or summarize([data for _, data in steps], request)


MAX_KNOWLEDGE_WORDS = 80
MIN_KNOWLEDGE_WORDS = 3
GENERAL_KNOWLEDGE = "General knowledge, not checked on this machine:"


def knowledge_question(request: str) -> bool:
    """Whether `request` asks something of general knowledge ("what is a symlink?"), not
    about this machine."""
    from llmos_shell.planning.relevance import asks_general_knowledge

    return asks_general_knowledge(request)


def knowledge_gate(show: Callable[[str], None] | None = None) -> AnswerGate:
    """The model's answer to a knowledge question, marked as such, as it streams: each
    sentence that suggests no command, up to MAX_KNOWLEDGE_WORDS words."""
    from llmos_shell.planning.answers import suggests_command

    def judge(sentence: str) -> int | None:
        return None if suggests_command(sentence) else 0

    return AnswerGate(
        judge,
        marker=GENERAL_KNOWLEDGE,
        max_words=MAX_KNOWLEDGE_WORDS,
        show=show,
    )


def knowledge_answer(request: str, text: str | None) -> str | None:
    """The model's short answer to a question of general knowledge ("what is a symlink?"),
    marked as such, without its sentences that suggest a command; None for a question about
    this machine, or with no answer to show."""
    if not knowledge_question(request):
        return None
    gate = knowledge_gate()
    gate.feed(text or "")
    gate.close()
    answer = gate.answer
    if answer is None or len(answer.removeprefix(GENERAL_KNOWLEDGE).split()) < MIN_KNOWLEDGE_WORDS:
        return None  # a cut-off word ("The") is no answer
    return answer
