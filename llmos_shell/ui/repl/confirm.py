"""Asking the person before a risky call: yes / no / edit the arguments / explain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pydantic
from rich.console import Console
from rich.markup import escape

from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.errors import describe_validation
from llmos_shell.registry import Tool
from llmos_shell.safety.policy import decide, explain
from llmos_shell.session import Approval
from llmos_shell.ui.render import render_call

Ask = Callable[[str, str], str]  # (message, default text) -> the person's answer

_QUESTION = "Run it? [y]es / [n]o / [e]dit / e[x]plain: "


class InteractiveConfirmer:
    """A confirmer that asks a person at the terminal; an empty answer or Ctrl-C means no."""

    def __init__(self, console: Console, ask: Ask) -> None:
        self.console = console
        self.ask = ask

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        """Ask until the person says yes or no; edits are validated and judged again."""
        arguments: dict[str, Any] = dict(call.arguments)
        edited = False
        while True:
            if decision.risk.rank >= Risk.DESTRUCTIVE.rank:
                self.console.print(
                    f"[bold red]⚠ This is {decision.risk.value}"
                    f"{'' if tool.reversible else ' and cannot be undone'}.[/]"
                )
            try:
                answer = self.ask(_QUESTION, "").strip().lower()
            except (EOFError, KeyboardInterrupt):
                return Approval(False, by="person (cancelled)")
            if answer in ("y", "yes"):
                return Approval(True, by="person", arguments=arguments if edited else None)
            if answer in ("", "n", "no", "q"):
                return Approval(False, by="person")
            if answer in ("x", "explain", "?"):
                current = ToolCall(call.tool, arguments)
                self.console.print(escape(explain(current, tool, decision)))
                continue
            if answer in ("e", "edit"):
                new = self._edit(tool, arguments)
                if new is None:
                    continue
                arguments, edited = new, True
                current = ToolCall(call.tool, arguments)
                decision = decide(current, tool)
                render_call(self.console, current, decision)
                if decision.verdict is Verdict.DENY:
                    return Approval(False, by="policy", arguments=arguments)
                continue
            self.console.print("[yellow]Please answer y, n, e or x.[/]")

    def _edit(self, tool: Tool, arguments: dict[str, Any]) -> dict[str, Any] | None:
        try:
            text = self.ask("arguments (JSON): ", json.dumps(arguments, ensure_ascii=False))
        except (EOFError, KeyboardInterrupt):
            return None
        try:
            new = json.loads(text)
        except json.JSONDecodeError as exc:
            self.console.print(f"[red]That is not JSON ({escape(exc.msg)}); nothing changed.[/]")
            return None
        if not isinstance(new, dict):
            self.console.print("[red]The arguments must be a JSON object; nothing changed.[/]")
            return None
        try:
            tool.validate(new)
        except pydantic.ValidationError as exc:
            self.console.print(
                f"[red]Those arguments do not fit {escape(tool.name)}: "
                f"{escape(describe_validation(exc))}; nothing changed.[/]"
            )
            return None
        return new
