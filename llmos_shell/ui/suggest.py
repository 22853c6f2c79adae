"""`llmos suggest` at a terminal: show the command, then run / edit / describe / copy / abort."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys

from rich.console import Console
from rich.markup import escape

from llmos_shell.app import App
from llmos_shell.calls import Approval, Approver, Decision, Risk, Step, ToolCall, Verdict
from llmos_shell.errors import ExitStatus
from llmos_shell.registry import Tool
from llmos_shell.safety.policy import PolicyOptions, decide, explain
from llmos_shell.safety.shell import analyse
from llmos_shell.ui.interrupt import cancel_on_sigint
from llmos_shell.ui.removal import TRASH_TOOL, RemovalPreview, removal_preview
from llmos_shell.ui.render import RISK_STYLE
from llmos_shell.ui.repl.confirm import TRASH_INSTEAD, Ask, show_removal

_MENU = "[r]un / [e]dit / [d]escribe / [c]opy / [a]bort: "
_MENU_TRASH = "[r]un / [t]rash instead / [e]dit / [d]escribe / [c]opy / [a]bort: "
_CLIPBOARDS = (
    ["wl-copy"],
    ["xclip", "-selection", "clipboard"],
    ["xsel", "--clipboard", "--input"],
    ["pbcopy"],
)


class _RunConfirmer:
    """The person already chose to run the command; past a write, they are asked once more."""

    def __init__(self, console: Console, ask: Ask) -> None:
        self.console = console
        self.ask = ask

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        if decision.risk.rank < Risk.DESTRUCTIVE.rank and not decision.sensitive:
            return Approval(True, by="person", approver=Approver.PERSON)
        if decision.risk is Risk.UNKNOWN:
            question = "What this does cannot be known before it runs. Really run it? [y/N] "
        else:
            question = f"This is {decision.risk.value}. Really run it? [y/N] "
        try:
            sure = self.ask(question, "")
        except (EOFError, KeyboardInterrupt):
            sure = ""
        if sure.strip().lower() in ("y", "yes"):
            return Approval(True, by="person", approver=Approver.PERSON)
        return Approval(False, by="person", approver=Approver.PERSON)


def suggest_interactive(
    app: App, request: str, console: Console, ask: Ask, options: PolicyOptions | None = None
) -> int:
    """Suggest a command for `request` and do what the person picks; returns the exit code."""
    with console.status("Thinking…"):
        command = app.suggester.suggest(request).command
    shell_tool = app.registry.shell_tool()
    assert shell_tool.shell_command_arg is not None
    # What was suggested: a command the person edited and ran is remembered as a correction.
    suggested = ToolCall(shell_tool.name, {shell_tool.shell_command_arg: command})
    sandbox = app.sandbox
    if sandbox.mode == "auto" and not sandbox.status().usable:
        sentence = sandbox.announce()  # before the menu, so [r]un is chosen knowing it
        if sentence is not None:
            console.print(f"[yellow]{escape(sentence)}[/]")
    while True:
        call = ToolCall(shell_tool.name, {shell_tool.shell_command_arg: command})
        decision = decide(call, shell_tool)  # shown now; run_call judges it again
        style = RISK_STYLE[decision.risk]
        console.print(f"[bold]{escape(command)}[/]")
        console.print(f"  [{style}]{decision.risk.value}: {escape(decision.reason)}[/]")
        preview = None
        if TRASH_TOOL in app.registry and decision.verdict is not Verdict.DENY:
            preview = removal_preview(call, shell_tool)
        if preview is not None and preview.paths:
            show_removal(console, preview)
        else:
            preview = None
        try:
            choice = ask(_MENU_TRASH if preview else _MENU, "").strip().lower()
        except (EOFError, KeyboardInterrupt):
            choice = "a"
        if choice in ("t", "trash") and preview is not None:
            return _trash(app, request, preview, console, options)
        if choice in ("a", "abort", "q", "n", ""):
            console.print("Nothing was run.")
            return int(ExitStatus.DECLINED)
        if choice in ("d", "describe", "x"):
            console.print(escape(explain(call, shell_tool, decision)))
        elif choice in ("c", "copy"):
            console.print(copy_to_clipboard(command))
        elif choice in ("e", "edit"):
            try:
                edited = ask("command: ", command).strip()
            except (EOFError, KeyboardInterrupt):
                continue
            if not edited or not analyse(edited).parsed_ok:
                console.print("[red]That command does not parse; the previous one stays.[/]")
            else:
                command = edited
        elif choice in ("r", "run", "y"):
            return _run(app, request, call, console, ask, options, suggested)
        else:
            letters = "r, t, e, d, c or a" if preview else "r, e, d, c or a"
            console.print(f"[yellow]Please answer {letters}.[/]")


def _run(
    app: App,
    request: str,
    call: ToolCall,
    console: Console,
    ask: Ask,
    options: PolicyOptions | None,
    suggested: ToolCall | None = None,
) -> int:
    """Run the command through the session: the policy, the audit, the same as any call."""
    session = app.session(confirmer=_RunConfirmer(console, ask), options=options)
    with cancel_on_sigint() as cancel:
        step = session.run_call(call, request=request, cancel=cancel, planned=suggested)
    failed = _not_done(step, console)
    if failed is not None:
        return failed
    assert step.result is not None
    data = step.result.data
    if data.get("stdout"):
        console.print(data["stdout"].rstrip("\n"), markup=False, highlight=False)
    if data.get("stderr"):
        console.print(data["stderr"].rstrip("\n"), markup=False, style="red")
    code = int(data.get("exit_code", 0))
    if code != 0:
        console.print(f"[dim](exit status {code})[/]")
    return int(ExitStatus.OK if code == 0 else ExitStatus.TOOL_FAILED)


def _not_done(step: Step, console: Console) -> int | None:
    """Say why a call did not run or did not succeed, with its exit status; None if it did."""
    result = step.result
    if result is None:
        if step.decision.verdict is Verdict.DENY:
            console.print(f"[red]Refused: {escape(step.decision.reason)}[/]")
        else:
            console.print("Nothing was run.")
        return int(ExitStatus.DECLINED)
    if result.cancelled:
        console.print("[yellow]Cancelled.[/]")
        return int(ExitStatus.INTERRUPTED)
    if not result.ok:
        console.print(f"[red]{escape(result.error or '')}[/]")
        return int(ExitStatus.TOOL_FAILED)
    return None


def _trash(
    app: App,
    request: str,
    preview: RemovalPreview,
    console: Console,
    options: PolicyOptions | None,
) -> int:
    """Move what the suggested `rm` names to the trash instead, each call through the policy."""

    def chosen(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        return Approval(True, by=TRASH_INSTEAD, approver=Approver.PERSON)

    session = app.session(confirmer=chosen, options=options)
    for call in preview.trash_calls():
        with cancel_on_sigint() as cancel:
            step = session.run_call(call, request=request, cancel=cancel)
        failed = _not_done(step, console)
        if failed is not None:
            return failed
        console.print(f"Moved {escape(str(call.arguments['path']))} to the trash.")
    return int(ExitStatus.OK)


def copy_to_clipboard(text: str) -> str:
    """Copy with the first clipboard program found, else by the terminal (OSC 52)."""
    for argv in _CLIPBOARDS:
        if shutil.which(argv[0]):
            try:
                subprocess.run(argv, input=text, text=True, check=True, timeout=5)
            except (OSError, subprocess.SubprocessError):
                continue
            return f"Copied with {argv[0]}."
    if sys.stdout.isatty():
        encoded = base64.b64encode(text.encode()).decode()
        sys.stdout.write(f"\x1b]52;c;{encoded}\x07")
        sys.stdout.flush()
        return "Sent to the terminal's clipboard (if your terminal allows it)."
    return "No clipboard program found (wl-copy, xclip, xsel, pbcopy); copy it by hand."
