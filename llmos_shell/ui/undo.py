"""`/undo` and `llmos undo`: reverse recorded changes through the session; show the journal."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmos_shell.app import App
from llmos_shell.calls import Approval, Approver, Decision, ToolCall
from llmos_shell.errors import ExitStatus
from llmos_shell.registry import Tool
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.safety.undo import UNDO_TOOL, limits_text

_STATUS_STYLE = {
    "can be undone": "green",
    "cannot be undone": "yellow",
    "undone": "dim",
    "not undone": "dim",
}


def _typed_it(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
    """The person asked for the undo by typing it: that is their yes."""
    return Approval(True, by="person", approver=Approver.PERSON)


def run_undo(
    app: App,
    count: int,
    console: Console,
    *,
    request: str,
    options: PolicyOptions | None = None,
    as_json: bool = False,
) -> int:
    """Undo the last `count` actions through `Session.run_call`; print a line for each."""
    session = app.session(confirmer=_typed_it, options=options, planning=False)
    call = ToolCall(UNDO_TOOL, {"count": count})
    step = session.run_call(call, request=request, tool=app.undo.tool)
    result = step.result
    if result is None:
        why = step.approval.by if step.approval else step.decision.reason
        console.print(f"[yellow]Nothing was undone ({escape(why)}).[/]")
        return int(ExitStatus.DECLINED)
    if not result.ok:
        console.print(f"[red]{escape(result.error or '')}[/]")
        return int(ExitStatus.TOOL_FAILED)
    data = result.data
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        for item in data["results"]:
            if item["undone"]:
                console.print(f"undone: {escape(item['detail'])}", soft_wrap=True)
            else:
                console.print(
                    f"[yellow]not undone: {escape(item['action'])}: {escape(item['reason'])}[/]",
                    soft_wrap=True,
                )
        if not data["results"]:
            console.print("Nothing to undo: every change recorded is undone already, or none is.")
        elif data["undone"] < count:
            console.print("[dim]Nothing more to undo.[/]")
    refused = any(not item["undone"] for item in data["results"])
    return int(ExitStatus.TOOL_FAILED if refused and data["undone"] < count else ExitStatus.OK)


def show_journal(app: App, console: Console, *, as_json: bool = False) -> None:
    """Every recorded action, newest first, with whether it can be undone and why not."""
    journal = app.undo
    rows = journal.listing()
    if as_json:
        print(json.dumps({"journal": str(journal.path), "actions": rows}, ensure_ascii=False))
        return
    if not rows:
        console.print(f"Nothing recorded yet in {escape(str(journal.path))}.")
        return
    table = Table(header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("when")
    table.add_column("what", overflow="fold")
    table.add_column("undo", overflow="fold")
    for number, row in enumerate(rows, 1):
        status = row["status"]
        said = row.get("reason") or row.get("detail")
        text = f"{status}: {said}" if said else status
        table.add_row(
            str(number),
            row["time"].replace("T", " "),
            escape(row["action"]),
            f"[{_STATUS_STYLE[status]}]{escape(text)}[/]",
        )
    console.print(table)
    console.print(f"[dim]{escape(str(journal.path))}: {escape(limits_text())}.[/]", soft_wrap=True)
