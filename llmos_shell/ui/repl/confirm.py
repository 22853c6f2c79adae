"""Asking the person before a risky call: yes / no / edit the arguments / explain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pydantic
from rich.console import Console
from rich.markup import escape

from llmos_shell.calls import Approval, Approver, Decision, Risk, ToolCall, Verdict
from llmos_shell.errors import describe_validation
from llmos_shell.registry import Tool
from llmos_shell.safety.policy import decide, explain
from llmos_shell.safety.rules import RulesError, RuleStore, rule_for, why_no_rule
from llmos_shell.ui.removal import RemovalPreview, removal_preview
from llmos_shell.ui.render import render_call

Ask = Callable[[str, str], str]  # (message, default text) -> the person's answer

_QUESTION = "Run it? [y]es / [n]o / [e]dit / e[x]plain: "
_QUESTION_TRASH = "Run it? [y]es / [t]rash instead / [n]o / [e]dit / e[x]plain: "
_QUESTION_RULE = "Run it? [y]es / [a]lways / [n]o / [e]dit / e[x]plain: "
TRASH_INSTEAD = "person (to the trash instead of rm)"


def warn_risk(console: Console, tool: Tool, decision: Decision) -> None:
    """The red line over a destructive, privileged or unknown call."""
    if decision.risk.rank < Risk.DESTRUCTIVE.rank:
        return
    undoable = tool.reversible and tool.shell_command_arg is None
    if decision.risk is Risk.UNKNOWN:
        console.print("[bold magenta]⚠ What this does cannot be known before it runs.[/]")
    else:
        console.print(
            f"[bold red]⚠ This is {decision.risk.value}"
            f"{'' if undoable else ' and cannot be undone'}.[/]"
        )


def show_removal(console: Console, preview: RemovalPreview) -> None:
    """How much a plain `rm` takes, and that the trash would keep it."""
    console.print(f"[bold red]{escape(preview.describe())}[/]")
    console.print("[dim]t moves the same files to the trash instead, from where they return.[/]")


class InteractiveConfirmer:
    """A confirmer that asks a person at the terminal; an empty answer or Ctrl-C means no.

    With `trash` (the trash tool is registered), a shell `rm` of plain paths is shown with the
    count and size of what it removes, and `t` moves the same paths to the trash instead. With
    `rules`, `a` runs it and keeps a rule that approves calls of the same shape from now on
    (offered only for a write or network call a rule may approve).
    """

    def __init__(
        self, console: Console, ask: Ask, trash: bool = False, rules: RuleStore | None = None
    ) -> None:
        self.console = console
        self.ask = ask
        self.trash = trash
        self.rules = rules

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        """Ask until the person says yes or no; edits are validated and judged again."""
        arguments: dict[str, Any] = dict(call.arguments)
        edited = False
        preview = removal_preview(call, tool) if self.trash else None
        while True:
            warn_risk(self.console, tool, decision)
            if decision.footprint:
                self.console.print(f"[bold]{escape(decision.footprint)}[/]")
            offer = preview is not None and bool(preview.paths)
            if preview is not None and offer:
                show_removal(self.console, preview)
            always = self.rules is not None and why_no_rule(decision) is None
            question = _QUESTION_TRASH if offer else _QUESTION_RULE if always else _QUESTION
            try:
                answer = self.ask(question, "").strip().lower()
            except (EOFError, KeyboardInterrupt):
                return Approval(False, by="person (cancelled)", approver=Approver.PERSON)
            if answer in ("a", "always") and always and self.rules is not None:
                kept = self._keep_rule(ToolCall(call.tool, arguments), tool, decision)
                if kept:
                    return Approval(
                        True,
                        by="person (always)",
                        arguments=arguments if edited else None,
                        approver=Approver.PERSON,
                    )
                continue
            if answer in ("t", "trash") and preview is not None and offer:
                return Approval(
                    True,
                    by=TRASH_INSTEAD,
                    replacement=preview.trash_calls(),
                    approver=Approver.PERSON,
                )
            if answer in ("y", "yes"):
                return Approval(
                    True,
                    by="person",
                    arguments=arguments if edited else None,
                    approver=Approver.PERSON,
                )
            if answer in ("", "n", "no", "q"):
                return Approval(False, by="person", approver=Approver.PERSON)
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
                preview = removal_preview(current, tool) if self.trash else None
                render_call(self.console, current, decision)
                if decision.verdict is Verdict.DENY:
                    return Approval(
                        False, by="policy", arguments=arguments, approver=Approver.POLICY
                    )
                continue
            letters = (
                "y, t, n, e or x" if offer else "y, a, n, e or x" if always else "y, n, e or x"
            )
            self.console.print(f"[yellow]Please answer {letters}.[/]")

    def _keep_rule(self, call: ToolCall, tool: Tool, decision: Decision) -> bool:
        """Store the rule for this call's shape and say how to take it back."""
        assert self.rules is not None
        try:
            rule = rule_for(call, tool, decision)
            number = self.rules.add(rule)
        except (RulesError, OSError) as exc:
            self.console.print(f"[red]{escape(str(exc))}[/]")
            return False
        self.console.print(
            f"[dim]Rule {number} kept: {escape(rule.describe())} "
            f"(llmos rules remove {number} takes it back).[/]"
        )
        return True

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
