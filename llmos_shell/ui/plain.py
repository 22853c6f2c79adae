"""Output for a pipe: plain text, no colours or box drawing, one value a line for a list.

When stdout is not a terminal, what a request found goes to stdout as lines another program
reads (`llmos "find the pdfs in Documents" | xargs ls -l`), and what is said about it (the
planned call, notices, a call not run) goes to stderr. The answer goes to stdout when no
result did, so `cat app.log | llmos "what went wrong?" > notes.txt` keeps it.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from llmos_shell.calls import Decision, ToolCall, ToolResult, Verdict

# Fields that name a row, in the order one is chosen as the row's value.
IDENTITY_FIELDS = ("path", "file", "name", "mountpoint", "address", "title", "id", "pid")


def plain_lines(data: Any) -> list[str]:
    """A result as lines: a list (or a record's main list) one value a line, a record as
    `key: value` lines, text as it is."""
    if isinstance(data, str):
        return data.rstrip("\n").split("\n") if data else []
    if isinstance(data, list):
        return [_row_value(item) for item in data]
    if isinstance(data, dict):
        rows = _main_list(data)
        if rows is not None:
            return [_row_value(item) for item in rows]
        texts = [v for v in data.values() if isinstance(v, str) and "\n" in v.rstrip("\n")]
        if texts:  # a file's contents: its lines are the value
            return [line for text in texts for line in text.rstrip("\n").split("\n")]
        return [f"{key}: {_scalar(value)}" for key, value in _fields(data)]
    if data is None:
        return []
    return [_scalar(data)]


def _main_list(data: dict[str, Any]) -> list[Any] | None:
    """The longest list a record holds, when it holds one (a search's matches)."""
    lists = [value for value in data.values() if isinstance(value, list)]
    return max(lists, key=len) if lists else None


def _row_value(item: Any) -> str:
    """The one value of a row that names it (its path, its name), or its fields tab-separated."""
    if isinstance(item, dict):
        for key in IDENTITY_FIELDS:
            if item.get(key) not in (None, ""):
                return _scalar(item[key])
        return "\t".join(_scalar(value) for _, value in _fields(item))
    return _scalar(item)


def _fields(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A record's fields, raw numbers left out where a `_human` twin says them."""
    return [
        (str(key).removesuffix("_human"), value)
        for key, value in record.items()
        if f"{key}_human" not in record and value is not None
    ]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return " ".join(str(value).split("\n"))


class PlainEvents:
    """Pipeline events for a pipe: results and the answer as plain lines on stdout, the
    rest on stderr."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.printed_result = False
        self._answer: list[str] = []

    def planned(self, call: ToolCall, decision: Decision) -> None:
        """Say the planned call on stderr."""
        from llmos_shell.ui.render import format_call

        marker = "✗" if decision.verdict is Verdict.DENY else "→"
        print(f"{marker} {format_call(call)}  {decision.risk.value}", file=self.err)
        if decision.verdict is not Verdict.ALLOW:
            print(f"  {decision.reason}", file=self.err)

    def answer_text(self, text: str) -> None:
        """Keep a piece of the answer for `finish`."""
        self._answer.append(text)

    def result(self, result: ToolResult) -> None:
        """A result as plain lines on stdout (a failure as one line on stderr)."""
        if not result.ok:
            print(f"{result.call.tool} failed: {result.error or ''}", file=self.err)
            return
        for line in plain_lines(result.data):
            print(line, file=self.out)
        self.printed_result = True

    def declined(self, call: ToolCall, approval: Any) -> None:
        """Say on stderr that a call did not run and why."""
        print(f"Not run: {call.tool} ({approval.by}).", file=self.err)

    def notice(self, text: str) -> None:
        """A note on stderr."""
        print(text, file=self.err)

    def finish(self) -> None:
        """The answer: on stdout when no result went there, else on stderr."""
        answer = "".join(self._answer).strip()
        if answer:
            print(answer, file=self.err if self.printed_result else self.out)
        self.out.flush()
