"""Showing calls, decisions and results in the terminal, with rich."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmos_shell.calls import Decision, Risk, ToolCall, ToolResult, Verdict
from llmos_shell.registry import Registry, signature
from llmos_shell.ui.progress import ElapsedSpinner

RISK_STYLE = {
    Risk.READ_ONLY: "green",
    Risk.WRITE: "yellow",
    Risk.NETWORK: "yellow",
    Risk.DESTRUCTIVE: "bold red",
    Risk.PRIVILEGED: "bold red",
    Risk.UNKNOWN: "bold magenta",
}
MAX_TABLE_ROWS = 200
MAX_CELL_CHARS = 48  # long cells (command lines) are cut in tables; --json has them whole


def format_call(call: ToolCall) -> str:
    """A call the way a person reads it: name(arg=value, ...)."""
    args = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in call.arguments.items()
    )
    return f"{call.tool}({args})"


def render_call(console: Console, call: ToolCall, decision: Decision) -> None:
    """One line for a planned call, coloured by its risk; a red warning when destructive."""
    style = RISK_STYLE[decision.risk]
    marker = "✗" if decision.verdict is Verdict.DENY else "→"
    console.print(
        f"[{style}]{marker} {escape(format_call(call))}[/]  [dim]{decision.risk.value}[/]"
    )
    serious = decision.risk.rank >= Risk.DESTRUCTIVE.rank
    if serious or decision.verdict is not Verdict.ALLOW:
        console.print(f"  [{style}]{'⚠ ' if serious else ''}{escape(decision.reason)}[/]")


def render_result(console: Console, result: ToolResult) -> None:
    """A result in full: a table for rows, key/value pairs for a record, text for text."""
    if not result.ok:
        console.print(f"[red]{escape(result.call.tool)} failed: {escape(result.error or '')}[/]")
        return
    render_data(console, result.data)


def render_data(console: Console, data: Any) -> None:
    """Pick the form that reads best for `data`: text as it is, rows as a table, a record as
    key/value lines (nested records flattened, sizes in their human spelling), and long text
    fields (a file's contents) as blocks with their lines kept."""
    if isinstance(data, str):
        console.print(escape(data), highlight=False, soft_wrap=True)
    elif _is_rows(data):
        console.print(_rows_table(data, clip=console.is_terminal))
    elif isinstance(data, dict):
        pairs = list(_flatten(data))
        blocks = [(k, v) for k, v in pairs if isinstance(v, str) and "\n" in v.rstrip("\n")]
        plain = [(k, v) for k, v in pairs if (k, v) not in blocks and not _is_rows(v)]
        if plain:
            table = Table(show_header=False, box=None, pad_edge=False)
            table.add_column(style="bold", no_wrap=True)
            table.add_column(overflow="fold")
            for key, value in plain:
                table.add_row(escape(key), escape(_cell(value)))
            console.print(table)
        for key, value in pairs:
            if _is_rows(value):
                console.print(f"[bold]{escape(key)}[/]")
                console.print(_rows_table(value, clip=console.is_terminal))
        for key, value in blocks:
            console.print(f"[bold]{escape(key)}[/]")
            console.print(escape(value.rstrip("\n")), highlight=False, markup=False, soft_wrap=True)
    elif data is None:
        console.print("[dim](no output)[/]")
    else:
        console.print(escape(json.dumps(data, indent=2, default=str, ensure_ascii=False)))


_UNIT_SUFFIXES = ("_s", "_ms", "_bytes")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A record's fields as (label, value): nested records as "memory total", raw numbers
    hidden behind their `_human` twins, empty values left out."""
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        stem = str(key).rsplit("_", 1)[0] if str(key).endswith(_UNIT_SUFFIXES) else key
        if f"{key}_human" in data or f"{stem}_human" in data or value in (None, [], {}):
            continue
        label = f"{prefix}{str(key).removesuffix('_human').replace('_', ' ')}"
        if isinstance(value, dict) and not _is_rows(value):
            out.extend(_flatten(value, f"{label} "))
        else:
            out.append((label, value))
    return out


def _is_rows(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _rows_table(rows: list[dict[str, Any]], *, clip: bool = True) -> Table:
    """One line per row; a raw column is hidden where a `<name>_human` twin exists; long
    cells are cut on a terminal and kept whole when the output goes to a file or pipe."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    columns = [c for c in columns if f"{c}_human" not in columns]
    table = Table(show_lines=False, header_style="bold")
    for column in columns:
        label = str(column).removesuffix("_human").replace("_percent", " %")
        table.add_column(escape(label), overflow="fold")
    for row in rows[:MAX_TABLE_ROWS]:
        cells = (_cell(row.get(c)) for c in columns)
        table.add_row(*(escape(_clip(cell) if clip else cell) for cell in cells))
    if len(rows) > MAX_TABLE_ROWS:
        table.caption = f"{len(rows) - MAX_TABLE_ROWS} more rows not shown"
    return table


def tools_table(registry: Registry) -> Table:
    """Every tool: its signature and purpose, its risk, and where it came from."""
    table = Table(header_style="bold", show_lines=True)
    table.add_column("tool and what it does", overflow="fold")
    table.add_column("risk")
    table.add_column("source", overflow="fold")
    for item in registry:
        table.add_row(
            f"[bold]{escape(signature(item))}[/]\n{escape(item.description)}",
            f"[{RISK_STYLE[item.risk]}]{item.risk.value}[/]",
            escape(item.source),
        )
    return table


def _clip(text: str, limit: int = MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    if isinstance(value, dict):
        return " ".join(_cell(v) for k, v in value.items() if f"{k}_human" not in value)
    return " ".join(str(value).split())  # one line per row


class ConsoleEvents:
    """Pipeline events shown in a terminal: calls, warnings, results, a streamed answer.

    With a `spinner`, it shows while the model works: from `thinking` (or creation) to the
    first event, and again after each result, when the model reads it.
    """

    def __init__(self, console: Console, spinner: ElapsedSpinner | None = None) -> None:
        self.console = console
        self._streaming = False
        self.spinner = spinner
        if spinner is not None:
            spinner.start("planning")

    def planned(self, call: ToolCall, decision: Decision) -> None:
        """Show the planned call."""
        self._end_stream()
        render_call(self.console, call, decision)

    def answer_text(self, text: str) -> None:
        """Stream a piece of the answer."""
        self._quiet()
        if not self._streaming:
            self._streaming = True
        self.console.print(text, end="", highlight=False, markup=False, soft_wrap=True)

    def result(self, result: ToolResult) -> None:
        """Show a result in full; the model reads it next."""
        self._end_stream()
        render_result(self.console, result)
        if self.spinner is not None:
            self.spinner.start("reading the result")

    def declined(self, call: ToolCall, approval: Any) -> None:
        """Say a call did not run and why."""
        self._end_stream()
        self.console.print(f"[yellow]Not run: {escape(call.tool)} ({escape(approval.by)}).[/]")

    def notice(self, text: str) -> None:
        """Show a dim note."""
        self._end_stream()
        self.console.print(f"[dim]{escape(text)}[/]")

    def finish(self) -> None:
        """End the streamed answer's line (and the spinner)."""
        self._end_stream()

    def _quiet(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()

    def _end_stream(self) -> None:
        self._quiet()
        if self._streaming:
            self.console.print()
            self._streaming = False
