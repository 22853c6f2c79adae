"""The interactive shell: prompt-toolkit for input, rich for output, the session for work.

The loop never dies: every error in a request is reported in one sentence and the prompt
comes back. Ctrl-C cancels the request in progress (or clears the line), Ctrl-D exits.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from rich.console import Console
from rich.markup import escape

from llmos_shell.app import App
from llmos_shell.calls import Status
from llmos_shell.errors import ExitStatus, LlmosError
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.ui.interrupt import cancel_on_sigint
from llmos_shell.ui.progress import ElapsedSpinner
from llmos_shell.ui.removal import TRASH_TOOL
from llmos_shell.ui.render import ConsoleEvents
from llmos_shell.ui.repl.confirm import InteractiveConfirmer
from llmos_shell.ui.repl.prompt_parts import (
    _SURROGATES,
    MAX_REQUEST_CHARS,
    ShellCompleter,
    ShellHistory,
    ignore_mouse_events,
)
from llmos_shell.ui.repl.slash import SLASH_COMMANDS, slash_command
from llmos_shell.ui.repl.slash import find as find_slash

SHELL_TIMEOUT_S = 600.0


HELP = """\
Type a request in plain words, e.g. "how much disk space is free?".
Calls that change anything ask first: y(es), n(o), e(dit the arguments), x (explain).
!COMMAND runs a shell command yourself, e.g. !ls -la
Ctrl-C cancels the request in progress; Ctrl-D leaves.
"""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class ReplState:
    """What the loop keeps between requests."""

    model_error: str | None = None
    requests: int = 0
    last_request: str = ""
    last_memories: tuple[Any, ...] = ()
    last_notes: tuple[str, ...] = ()  # what the resolver put in the last plan, and why


class Repl:
    """One interactive shell over an App."""

    def __init__(
        self,
        app: App,
        *,
        options: PolicyOptions | None = None,
        input: Input | None = None,
        output: Output | None = None,
        console: Console | None = None,
    ) -> None:
        self.app = app
        self.options = options or PolicyOptions(yes_writes=False, yes_destructive=False)
        self.console = console or Console(highlight=False)
        paths = app.config.paths
        history: Any
        try:
            paths.history_file.parent.mkdir(parents=True, exist_ok=True)
            history = ShellHistory(str(paths.history_file))
        except OSError as exc:
            history = InMemoryHistory()
            self.console.print(f"[yellow]warning: history is not saved ({escape(str(exc))})[/]")
        self.history = history
        self.prompt_session: PromptSession[str] = PromptSession(
            history=history,
            completer=ShellCompleter(),
            complete_while_typing=False,
            key_bindings=ignore_mouse_events(),
            input=input,
            output=output,
        )
        self._ask_session: PromptSession[str] = PromptSession(
            key_bindings=ignore_mouse_events(), input=input, output=output
        )
        self.state = ReplState()
        self._previous_dir: str | None = None
        self._real_terminal = input is None and sys.stdout.isatty()

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> int:
        """Read and handle lines until Ctrl-D or /exit."""
        for warning in (*self.app.config.warnings, *self.app.registry.warnings):
            self.console.print(f"[yellow]warning: {escape(warning)}[/]")
        self._load_model()
        self.console.print("[bold]llmos[/] — ask in plain words; /help for help, Ctrl-D to leave.")
        if self._real_terminal:  # an offer needs a person to answer it
            self.offer_better_model()
        self._automations_at_start()
        while True:
            try:
                line = self.prompt_session.prompt("llmos> ")
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                break
            try:
                if self.handle(line) is False:
                    break
            except KeyboardInterrupt:
                self.console.print("\n[yellow]Cancelled.[/]")
            except LlmosError as exc:
                self.console.print(f"[red]{escape(str(exc))}[/]")
            except Exception as exc:  # the loop never dies
                if self.app.debug:
                    self.console.print_exception()
                else:
                    self.console.print(
                        f"[red]internal error: {escape(type(exc).__name__)}: {escape(str(exc))} "
                        "(start with --debug for the traceback)[/]"
                    )
        self.console.print("Bye.")
        return int(ExitStatus.OK)

    def _load_model(self) -> None:
        try:
            with self.console.status("Loading the model…"):
                self.app.planner  # noqa: B018 - loads the model and its prompt
            self.state.model_error = None
        except LlmosError as exc:
            self.state.model_error = str(exc)
            self.console.print(f"[red]{escape(str(exc))}[/]")
            self.console.print(
                "[dim]Requests need a model; /model PATH loads one. !commands and /tools work.[/]"
            )

    def handle(self, line: str) -> bool | None:
        """Handle one input line; returns False to leave the shell."""
        text = _CONTROL.sub("", line).strip()
        if not text:
            return None
        if text.startswith("!"):
            self.run_command(text[1:].strip())  # undecodable bytes pass on, as in file names
            return None
        text = _SURROGATES.sub("\ufffd", text)
        if text.startswith("/"):
            return self.slash(text)
        if len(text) > MAX_REQUEST_CHARS:
            self.console.print(
                f"[red]That request is {len(text)} characters long; the limit is "
                f"{MAX_REQUEST_CHARS}. Shorten it, or put the text in a file and ask about "
                "the file.[/]"
            )
            return None
        self.request(text)
        return None

    def request(self, text: str) -> None:
        """Plan and run one request, asking before risky calls."""
        if self.state.model_error:
            self.console.print(f"[red]{escape(self.state.model_error)}[/]")
            return
        if self._is_automation(text):
            self.jobs().add(text)  # the time is read, not guessed: the model never decides when
            return
        confirmer = InteractiveConfirmer(
            self.console, self._ask, trash=TRASH_TOOL in self.app.registry, rules=self.app.rules
        )
        session = self.app.session(confirmer=confirmer, options=self.options, rules=True)
        session.chooser = self._choose
        spinner = ElapsedSpinner(Console(stderr=True)) if self._real_terminal else None
        events = ConsoleEvents(self.console, spinner)
        self.state.requests += 1
        try:
            with cancel_on_sigint() as cancel:  # errors are reported by the loop in run()
                # On a terminal the answer streams as its check vouches for it.
                outcome = session.run(text, events, cancel=cancel, stream=self.console.is_terminal)
        finally:
            events.finish()
        self.state.last_request, self.state.last_memories = text, outcome.memories
        self.state.last_notes = session.last_notes
        if outcome.status is Status.CANCELLED:
            self.console.print("[yellow]Cancelled.[/]")
        elif outcome.answer is None and not outcome.steps:
            self.console.print("[dim](no answer)[/]")
        if self.app.drafts:  # automations the schedule tool proposed: the person decides
            self.jobs().offer_drafts()

    # -- automations -----------------------------------------------------------------------

    def jobs(self) -> Any:
        """Automations at this prompt (imported when first needed: it brings APScheduler)."""
        from llmos_shell.ui.jobs import JobsView

        return JobsView(self.app, self.console, ask=self._ask)

    def _is_automation(self, text: str) -> bool:
        from llmos_shell.scheduler.phrases import looks_like_automation

        now = self.app.now()
        return looks_like_automation(text, now)

    def offer_better_model(self) -> None:
        """At the first start on the embedded model: what it is good for, and (once) the
        offer to pull the recommended one; the answer is kept, so it is asked once. Offline
        (HF_HUB_OFFLINE, or no route off the machine) nothing is offered, nor recorded."""
        from llmos_shell.models.advice import RECOMMENDED, AdviceState, advice_lines, offline

        config = self.app.config
        if config.settings.model or self.state.model_error or offline():
            return
        state = AdviceState(config.paths.state_dir)
        if state.answered():
            return
        for line in advice_lines():
            self.console.print(f"[dim]{escape(line)}[/]", soft_wrap=True)
        try:
            answer = self._ask("Download it now? [y/N] ", "").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer not in ("y", "yes"):
            problem = state.record("no")  # a no is kept: the offer is not made again
            if problem:
                self.console.print(f"[yellow]{escape(problem)}[/]")
            self.console.print("[dim]Not now; `llmos models` shows how to get it later.[/]")
            return
        from llmos_shell.models import hub
        from llmos_shell.models.locate import hf_hub_cache

        try:
            pulled = hub.pull_file(
                RECOMMENDED.repo, RECOMMENDED.filename, hf_hub_cache(), progress=True
            )
        except LlmosError as exc:  # offline, say: asked again next time
            self.console.print(f"[red]{escape(str(exc))}[/]")
            return
        state.record("yes")
        self.console.print(
            f"Downloaded {escape(str(pulled.path))}; make it the default with: "
            f"llmos models use {escape(pulled.name)}"
        )

    def _automations_at_start(self) -> None:
        """What ran while the person was away, then (once) a habit worth automating."""
        from llmos_shell.scheduler.location import store_exists

        try:
            if store_exists(self.app.config):
                self.jobs().away_report()
            if not self.state.model_error:
                self.jobs().offer_habit()
        except LlmosError as exc:
            self.console.print(f"[yellow]warning: {escape(str(exc))}[/]")

    @slash_command(
        "/jobs",
        "automations: /jobs, /jobs add WHEN WHAT, /jobs show|pause|resume|remove|run-now N, /jobs history",
    )
    def show_jobs(self, rest: str) -> None:
        """List, add, show, pause, resume, remove or run an automation."""
        self.jobs().slash(rest)

    @slash_command("/inbox", "what automations did and said (/inbox all for everything)")
    def show_inbox(self, rest: str) -> None:
        """The unread inbox, then marked read."""
        self.jobs().inbox(everything=rest.strip() == "all")

    def _ask(self, message: str, default: str) -> str:
        return self._ask_session.prompt(message, default=default)

    # -- ! and / ---------------------------------------------------------------------------

    def run_command(self, command: str) -> None:
        """Run a raw shell command the person typed (their own command: no planning)."""
        if not command:
            self.console.print("[yellow]Type a command after !, e.g. !ls -la[/]")
            return
        target = _cd_target(command)
        if target is not None:
            self.change_directory(target)
            return
        shell = os.environ.get("SHELL") or "/bin/sh"
        if self._real_terminal:
            code = subprocess.call(command, shell=True, executable=shell)
        else:
            proc = subprocess.run(
                command,
                shell=True,
                executable=shell,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=SHELL_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            if proc.stdout:
                self.console.print(proc.stdout.rstrip("\n"), markup=False, highlight=False)
            if proc.stderr:
                self.console.print(proc.stderr.rstrip("\n"), markup=False, style="red")
            code = proc.returncode
        if code != 0:
            self.console.print(f"[dim](exit status {code})[/]")

    def change_directory(self, target: str) -> None:
        """`!cd DIR`: a child shell's cd would be forgotten, so the shell itself moves."""
        where = os.path.expanduser(target or "~")
        if target == "-":
            where = self._previous_dir or os.getcwd()
        try:
            here = os.getcwd()
            os.chdir(where)
        except OSError as exc:
            self.console.print(
                f"[red]Cannot change to {escape(where)}: {escape(exc.strerror or str(exc))}.[/]"
            )
            return
        self._previous_dir = here
        self.console.print(f"[dim]{escape(os.getcwd())}[/]")

    def slash(self, text: str) -> bool | None:
        """Run a slash command."""
        name, _, rest = text.partition(" ")
        command = find_slash(name)
        if command is None:
            known = ", ".join(SLASH_COMMANDS)
            self.console.print(
                f"[yellow]Unknown command {escape(name)}; the commands are {known}.[/]",
                soft_wrap=True,  # one sentence, however many commands there are
            )
            return None
        return command.handler(self, rest.strip())

    @slash_command("/help", "show this help")
    def show_help(self, rest: str) -> None:
        """What can be typed."""
        self.console.print(HELP, markup=False)
        for name, command in SLASH_COMMANDS.items():
            self.console.print(f"  {name:<10} {command.help}", markup=False)

    @slash_command("/tools", "list the tools (or /tools NAME for one tool's arguments)")
    def show_tools(self, name: str) -> None:
        """All tools, or one tool's full definition."""
        from llmos_shell.ui.render import RISK_STYLE, tools_table

        registry = self.app.registry
        if name:
            item = registry.get(name)
            self.console.print(f"[bold]{escape(item.name)}[/] — {escape(item.description)}")
            self.console.print(
                f"risk: [{RISK_STYLE[item.risk]}]{item.risk.value}[/], "
                f"{'reversible' if item.reversible else 'not reversible'}, from {escape(item.source)}"
            )
            self.console.print(escape(json.dumps(item.parameters_schema(), indent=2)))
            for example in item.examples:
                self.console.print(f"  e.g. {escape(example.request)}")
            return
        self.console.print(tools_table(registry))

    @slash_command("/history", "show recent requests (/history N for the last N)")
    def show_history(self, count: str) -> None:
        """The last N lines typed (default 20)."""
        try:
            n = int(count) if count else 20
        except ValueError:
            n = -1
        if n < 0:  # a negative slice would show all but the oldest lines
            self.console.print(
                f"[yellow]/history takes a count such as 20, not {escape(count)!r}.[/]"
            )
            return
        lines = list(self.history.load_history_strings())[:n]  # newest first
        for index, line in enumerate(reversed(lines), 1):
            self.console.print(f"{index:>4}  {line}", markup=False, highlight=False)

    @slash_command(
        "/resume", "pick up a kept conversation: /resume lists them, /resume N continues one"
    )
    def resume(self, rest: str) -> None:
        """List the kept conversations, or continue one."""
        from llmos_shell.ui.conversations import resume

        resume(self.app, self.console, rest)

    @slash_command("/stats", "show tokens per second, time and memory in use of this session")
    def show_stats(self, rest: str = "") -> None:
        """The backend's totals and speeds so far, and the memory this process uses."""
        from llmos_shell.backends.usage import live_json, live_lines

        for line in live_lines(live_json(self.app.loaded_backend)):
            self.console.print(line, markup=False, highlight=False)

    @slash_command("/model", "show the model in use (/model PATH to load another GGUF file)")
    def model(self, path: str) -> None:
        """Show the model, or load another one (the old one stays if the new one fails)."""
        if not path:
            if self.state.model_error:
                self.console.print(f"[red]{escape(self.state.model_error)}[/]")
            else:
                self.console.print(escape(self.app.backend.describe()))
            return
        candidate = self.app.with_model(path)
        try:
            with self.console.status("Loading the model…"):
                candidate.planner  # noqa: B018 - loads the model and its prompt
        except LlmosError as exc:
            self.console.print(f"[red]{escape(str(exc))}[/]")
            if not self.state.model_error:
                self.console.print("[dim]Still using the previous model.[/]")
            return
        old, self.app = self.app, candidate
        old.close()
        self.state.model_error = None
        self.console.print(f"Now using {escape(candidate.backend.describe())}.")

    @slash_command(
        "/undo", "reverse the last change llmos made (/undo N for the last N, /undo list)"
    )
    def undo(self, rest: str) -> None:
        """Reverse the last N recorded changes through the session, or list the journal."""
        from llmos_shell.safety.undo import KEEP_ACTIONS
        from llmos_shell.ui.undo import run_undo, show_journal

        if rest in ("list", "--list"):
            show_journal(self.app, self.console)
            return
        count = int(rest) if rest.isdigit() else 0
        if not 1 <= count <= KEEP_ACTIONS and rest:
            self.console.print(
                f"[yellow]/undo takes a count from 1 to {KEEP_ACTIONS}, or list, "
                f"not {escape(rest)!r}.[/]"
            )
            return
        request = f"/undo {rest}".strip()
        run_undo(self.app, count or 1, self.console, request=request, options=self.options)

    @slash_command("/memory", "what llmos remembers (/memory search WORDS, /memory forget ID)")
    def show_memory(self, rest: str) -> None:
        """The latest memories, a search, or forgetting one."""
        memory = self.app.memory
        if memory is None:
            self.console.print(f"[yellow]{escape(self.app.memory_error or 'Memory is off.')}[/]")
            return
        action, _, words = rest.partition(" ")
        if action == "forget" and words.strip():
            gone = memory.store.forget([words.strip()])
            self.console.print(
                f"Forgot {escape(words.strip())}."
                if gone
                else f"[yellow]There is no memory {escape(words.strip())}.[/]"
            )
            return
        if action == "search" and words.strip():
            records = [h.record for h in memory.recall(words.strip(), limit=8)]
        elif action:
            self.console.print("[yellow]/memory takes nothing, search WORDS, or forget ID.[/]")
            return
        else:
            records = memory.records()[-10:]
            self.console.print(
                f"[dim]{memory.store.count()} memories in {escape(memory.location)}; the latest:[/]"
            )
        for record in records:
            self.console.print(
                f"  {record.id}  {record.kind:<10} {record.short(80)}",
                markup=False,
                highlight=False,
            )
        if not records:
            self.console.print('  (none yet: say "remember that ...")', markup=False)

    def _choose(self, question: str, labels: Sequence[str]) -> int | None:
        """A numbered question: which of several things was meant (None: none of them)."""
        self.console.print(escape(question))
        for number, label in enumerate(labels, 1):
            self.console.print(f"  {number}) {label}", markup=False, highlight=False)
        try:
            answer = self._ask(f"Which one? [1-{len(labels)}, empty for none]: ", "").strip()
        except (EOFError, KeyboardInterrupt):
            return None
        return int(answer) - 1 if answer.isdigit() and 1 <= int(answer) <= len(labels) else None

    @slash_command("/why", "which memories and resolved names shaped the last plan")
    def why(self, rest: str) -> None:
        """The memories behind the last request's plan, and what each one is."""
        if not self.state.last_request:
            self.console.print("[dim]Nothing was planned yet.[/]")
            return
        for note in self.state.last_notes:  # the resolver's changes: it wins where it is sure
            self.console.print(f"  resolved {note}", markup=False, highlight=False)
        memories = self.state.last_memories
        if not memories:
            self.console.print(
                f"[dim]No memory shaped the plan for {escape(self.state.last_request)!r}.[/]"
            )
            return
        self.console.print(f"The plan for {escape(self.state.last_request)!r} used:")
        for record in memories:
            role = "a note shown to the model" if record.kind == "fact" else "an example to follow"
            self.console.print(
                f"  {record.id}  {record.kind} ({role}): {record.text}",
                markup=False,
                highlight=False,
            )

    @slash_command("/exit", "leave the shell (Ctrl-D works too)", aliases=("/quit",))
    def leave(self, rest: str) -> bool:
        """Leave the shell."""
        return False


def _cd_target(command: str) -> str | None:
    """The folder of a plain `cd DIR` (or "" for `cd` alone); None for any other command."""
    from llmos_shell.safety.shell import analyse

    analysis = analyse(command)
    if not analysis.parsed_ok or len(analysis.commands) != 1 or analysis.redirects:
        return None
    [only] = analysis.commands
    if only.program != "cd" or len(only.args) > 1 or any(w.dynamic for w in only.args):
        return None
    stripped = command.strip()
    if any(op in stripped for op in ("&&", "||", ";", "|", "&", "`", "$(")):
        return None
    return only.args[0].text if only.args else ""


def run_shell(
    app: App,
    *,
    options: PolicyOptions | None = None,
    input: Input | None = None,
    output: Output | None = None,
    console: Console | None = None,
) -> int:
    """Start the interactive shell and return its exit code; the app it ends on is closed."""
    repl = Repl(app, options=options, input=input, output=output, console=console)
    try:
        return repl.run()
    finally:
        repl.app.close()  # records the model's usage for `llmos stats`
