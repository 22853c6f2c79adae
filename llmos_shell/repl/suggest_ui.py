"""`llmos suggest` at a terminal: show the command, then run / edit / describe / copy / abort."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys

from rich.console import Console
from rich.markup import escape

from llmos_shell.app import App
from llmos_shell.calls import Risk, ToolCall, Verdict
from llmos_shell.errors import ExitStatus
from llmos_shell.executor import execute
from llmos_shell.policy import decide, explain
from llmos_shell.render import RISK_STYLE
from llmos_shell.repl.confirm import Ask
from llmos_shell.shellparse import analyse

_MENU = "[r]un / [e]dit / [d]escribe / [c]opy / [a]bort: "
_CLIPBOARDS = (
    ["wl-copy"],
    ["xclip", "-selection", "clipboard"],
    ["xsel", "--clipboard", "--input"],
    ["pbcopy"],
)


def suggest_interactive(app: App, request: str, console: Console, ask: Ask) -> int:
    """Suggest a command for `request` and do what the person picks; returns the exit code."""
    with console.status("Thinking…"):
        command = app.suggester.suggest(request).command
    shell_tool = app.registry.get("run_shell")
    while True:
        call = ToolCall(shell_tool.name, {"command": command})
        decision = decide(call, shell_tool)
        style = RISK_STYLE[decision.risk]
        console.print(f"[bold]{escape(command)}[/]")
        console.print(f"  [{style}]{decision.risk.value}: {escape(decision.reason)}[/]")
        try:
            choice = ask(_MENU, "").strip().lower()
        except (EOFError, KeyboardInterrupt):
            choice = "a"
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
            if decision.verdict is Verdict.DENY:
                console.print(f"[red]Refused: {escape(decision.reason)}[/]")
                return int(ExitStatus.DECLINED)
            if decision.risk.rank >= Risk.DESTRUCTIVE.rank:
                try:
                    sure = ask(f"This is {decision.risk.value}. Really run it? [y/N] ", "")
                except (EOFError, KeyboardInterrupt):
                    sure = ""
                if sure.strip().lower() not in ("y", "yes"):
                    console.print("Nothing was run.")
                    return int(ExitStatus.DECLINED)
            timeout = app.config.settings.tool_timeout_s
            result = execute(call, shell_tool, timeout_s=timeout)
            app.audit.record(
                request=request,
                call=call,
                decision=decision,
                approved_by="person",
                result=result,
            )
            if not result.ok:
                console.print(f"[red]{escape(result.error or '')}[/]")
                return int(ExitStatus.TOOL_FAILED)
            data = result.data
            if data.get("stdout"):
                console.print(data["stdout"].rstrip("\n"), markup=False, highlight=False)
            if data.get("stderr"):
                console.print(data["stderr"].rstrip("\n"), markup=False, style="red")
            code = int(data.get("exit_code", 0))
            if code != 0:
                console.print(f"[dim](exit status {code})[/]")
            return int(ExitStatus.OK if code == 0 else ExitStatus.TOOL_FAILED)
        else:
            console.print("[yellow]Please answer r, e, d, c or a.[/]")


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
