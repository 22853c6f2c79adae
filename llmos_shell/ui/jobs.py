"""Automations in the terminal: the approval at creation, the job list, history and inbox.

Shared by `llmos jobs`, `llmos inbox` and the shell's `/jobs`: the same words and tables in
both. Asking goes through an `ask(message, default)` callback, so the shell asks through its
own prompt and the command line through the terminal; with no one to ask, only what the
person approved in advance (`--yes`, `--yes-destructive`) is created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmos_shell.calls import Risk
from llmos_shell.scheduler.location import store_exists, store_url
from llmos_shell.scheduler.spec import shown_moment
from llmos_shell.ui.render import RISK_STYLE, format_call, render_call

if TYPE_CHECKING:
    from llmos_shell.app import App
    from llmos_shell.scheduler.creation import Proposal
    from llmos_shell.scheduler.store import InboxEntry, JobRecord, RunRecord, Store

Ask = Callable[[str, str], str]

STATUS_STYLE = {
    "ok": "green",
    "running": "cyan",
    "failed": "red",
    "refused": "red",
    "interrupted": "yellow",
    "missed": "yellow",
    "skipped": "yellow",
    "cancelled": "yellow",
}


@dataclass
class JobsView:
    """Creating and showing automations for one person at one terminal (or none)."""

    app: App
    console: Console
    ask: Ask | None = None
    yes: bool = False
    yes_destructive: bool = False

    @property
    def store(self) -> Store:
        """The job store (opened, and created, on first use)."""
        from llmos_shell.scheduler.location import open_job_store

        return open_job_store(self.app.config)

    def now(self) -> datetime:
        """The time now in the automations' time zone."""

        return self.app.now()

    # -- creating --------------------------------------------------------------------------

    def show_proposal(self, proposal: Proposal) -> None:
        """The trigger in words, the next runs, and each call with its risk."""
        now = self.now()
        first, *later = proposal.next_runs
        self.console.print(
            f"[bold]New automation:[/] {escape(proposal.trigger.text)}, next run "
            f"{shown_moment(first, now)}"
            + (f" [dim](then {', '.join(shown_moment(m, now) for m in later)})[/]" if later else "")
        )
        for step in proposal.steps:
            render_call(self.console, step.call, step.decision)
        style = RISK_STYLE.get(proposal.risk, "bold red")
        self.console.print(
            f"It runs with no one watching: these calls only, and nothing above "
            f"[{style}]{proposal.risk.value}[/]."
        )

    def create(self, proposal: Proposal, *, misfire: str = "run-once") -> int | None:
        """Ask once (unless approved in advance) and store the job; returns its number."""
        self.show_proposal(proposal)
        by = self._approval(proposal.risk)
        if by is None:
            return None
        spec = proposal.spec(
            approved_by=by, timeout_s=self.app.config.settings.tool_timeout_s, misfire=misfire
        )
        number = self.store.add_job(spec)
        self.console.print(
            f"Automation {number} created: {escape(proposal.trigger.text)}, next run "
            f"{shown_moment(proposal.next_runs[0], self.now())}."
        )
        self.daemon_hint()
        return number

    def _approval(self, risk: Risk) -> str | None:
        """Who approved: the flags, the person's yes, or None (said so)."""
        from llmos_shell.scheduler import creation

        needs_yes = creation.approval_needed(
            risk, yes=self.yes, yes_destructive=self.yes_destructive
        )
        if self.ask is None:
            if not needs_yes:
                return (
                    "--yes flag"
                    if risk is not Risk.READ_ONLY
                    else "the person who added it (read-only: no yes needed)"
                )
            flag = "--yes-destructive" if risk is Risk.DESTRUCTIVE else "--yes"
            self.console.print(
                f"[yellow]Not created: it is {risk.value} and no one is here to approve it; "
                f"run it in a terminal or pass {flag}.[/]"
            )
            return None
        if not needs_yes and risk is not Risk.READ_ONLY:
            return "--yes flag"
        if risk.rank >= Risk.DESTRUCTIVE.rank:
            self.console.print(
                f"[bold red]⚠ It will run {risk.value} calls with no one watching.[/]"
            )
        while True:
            try:
                answer = self.ask("Create this automation? [y]es / [n]o: ", "").strip().lower()
            except (EOFError, KeyboardInterrupt):
                answer = "n"
            if answer in ("y", "yes"):
                return "person"
            if answer in ("", "n", "no", "q"):
                self.console.print("Not created.")
                return None
            self.console.print("[yellow]Please answer y or n.[/]")

    def add(self, text: str, *, when: str | None = None, misfire: str = "run-once") -> int | None:
        """Read, plan, show, ask, store: the whole of `llmos jobs add` and `/jobs add`."""
        from llmos_shell.scheduler import creation

        with self.console.status("Planning the automation…"):
            proposal = creation.propose(self.app, text, when=when, now=self.now())
        return self.create(proposal, misfire=misfire)

    def daemon_hint(self) -> None:
        """Say so when no daemon will run the jobs."""
        from llmos_shell.scheduler.lock import held_elsewhere

        if not held_elsewhere(store_url(self.app.config)):
            self.console.print(
                "[yellow]The daemon is not running, so nothing runs until you start it: "
                "llmos daemon start (or llmos daemon install, to start it at login).[/]"
            )

    # -- showing ---------------------------------------------------------------------------

    def list_jobs(self) -> None:
        """One row a job: number, state, when, next run, what, risk, last run."""
        records = self.store.jobs()
        if not records:
            self.console.print(
                'No automations yet; add one with llmos jobs add "every weekday at 9 show me disk usage".'
            )
            return
        scheduled = self.store.scheduled_times()
        now = self.now()
        table = Table(show_edge=False)
        for column in ("#", "state", "when", "next run", "does", "risk", "last run"):
            table.add_column(column)
        for record in records:
            spec = record.spec
            if spec is None:
                table.add_row(
                    str(record.id), "[red]damaged[/]", "", "", escape(record.error or ""), "", ""
                )
                continue
            last = self.store.runs(record.id, limit=1)
            table.add_row(
                str(record.id),
                record.state,
                escape(spec.trigger.text),
                self._next_run(record, scheduled, now),
                escape(spec.action),
                f"[{RISK_STYLE.get(spec.approved_risk, 'bold red')}]{spec.approved_risk.value}[/]",
                _run_cell(last[0], now) if last else "[dim]never[/]",
            )
        self.console.print(table)

    def _next_run(
        self, record: JobRecord, scheduled: dict[int, datetime | None], now: datetime
    ) -> str:
        from llmos_shell.scheduler import triggers

        if record.state != "active" or record.spec is None:
            return "[dim]-[/]"
        if record.id in scheduled:
            moment = scheduled[record.id]
            return shown_moment(moment, now) if moment else "[dim]-[/]"
        runs = triggers.next_runs(record.spec.trigger, 1, now)
        return (
            f"{shown_moment(runs[0], now)} [dim](once the daemon runs)[/]" if runs else "[dim]-[/]"
        )

    def show_job(self, job_id: int) -> None:
        """Everything about one job: its words, trigger, calls, approval, limits, last runs."""
        from llmos_shell.scheduler import triggers

        record = self.store.job(job_id)
        out = self.console
        if record.spec is None:
            out.print(
                f"[red]Automation {job_id} is damaged: {escape(record.error or '')}; remove it and add it again.[/]"
            )
            return
        spec, now = record.spec, self.now()
        out.print(f"[bold]Automation {job_id}[/] ({record.state}): {escape(spec.request)}")
        runs = triggers.next_runs(spec.trigger, 3, now) if record.state == "active" else []
        nexts = ", ".join(shown_moment(m, now) for m in runs) or "-"
        out.print(
            f"  when      {escape(spec.trigger.text)} ({spec.trigger.timezone}); next {nexts}"
        )
        out.print(f"  trigger   {spec.trigger.kind} {escape(str(spec.trigger.fields))}")
        for index, call in enumerate(spec.calls, 1):
            out.print(f"  call {index}    {escape(format_call(call))}")
        out.print(
            f"  approved  up to {spec.approved_risk.value}, by {escape(spec.approved_by)} at {spec.approved_at}"
        )
        out.print(
            f"  limits    {spec.timeout_s:g} s a call; if missed: {creation_misfire_words(spec.misfire)}"
        )
        history = self.store.runs(job_id, limit=5)
        if history:
            self.history(job_id, limit=5)

    def history(self, job_id: int | None = None, *, limit: int = 20) -> None:
        """The run log, newest first."""
        runs = self.store.runs(job_id, limit=limit)
        if not runs:
            self.console.print("No runs yet.")
            return
        now = self.now()
        table = Table(show_edge=False)
        for column in ("run", "#", "scheduled", "started", "outcome", "took", "summary"):
            table.add_column(column)
        for run in runs:
            table.add_row(
                str(run.id),
                str(run.job_id),
                _moment(run.scheduled_for, now),
                _moment(run.started_at, now),
                f"[{STATUS_STYLE.get(run.status, 'white')}]{run.status}[/]",
                f"{run.duration_s:.1f} s" if run.duration_s is not None else "",
                escape(run.summary),
            )
        self.console.print(table)

    def inbox(self, *, everything: bool = False) -> list[InboxEntry]:
        """Print the inbox (unread entries, or all), and mark them read."""
        entries = self.store.inbox(unseen_only=not everything)
        if not entries:
            self.console.print("The inbox is empty." if everything else "Nothing new in the inbox.")
            return []
        now = self.now()
        for entry in entries:
            self.console.print(_entry_line(entry, now))
        self.store.mark_seen([e.id for e in entries if not e.seen])
        return entries

    def away_report(self) -> None:
        """At shell start: what ran (and what was said) while the person was away."""
        if not store_exists(self.app.config):
            return
        entries = self.store.inbox()
        if not entries:
            return
        runs = [e for e in entries if e.kind == "run"]
        messages = [e for e in entries if e.kind != "run"]
        now = self.now()
        if runs:
            noun = "automation" if len(runs) == 1 else "automations"
            self.console.print(f"[bold]{len(runs)} {noun} ran while you were away:[/]")
            for entry in runs:
                self.console.print("  " + _entry_line(entry, now))
        if messages:
            noun = "message" if len(messages) == 1 else "messages"
            self.console.print(f"[bold]{len(messages)} {noun} for you:[/]")
            for entry in messages:
                self.console.print("  " + _entry_line(entry, now))
        self.store.mark_seen([e.id for e in entries])

    def offer_drafts(self) -> None:
        """Ask about each automation the schedule tool proposed during the last request."""
        from llmos_shell.errors import LlmosError
        from llmos_shell.scheduler.drafts import take

        for draft in take(self.app.drafts):
            if self.ask is None:  # the model proposed it and no one saw its calls: never create
                self.console.print(
                    f"[yellow]The automation '{escape(draft.when)} {escape(draft.action)}' was not "
                    f'created: no one is here to approve it; run llmos jobs add "{escape(draft.when)} '
                    f'{escape(draft.action)}" in a terminal.[/]'
                )
                continue
            try:
                self.add(draft.action, when=draft.when)
            except LlmosError as exc:
                self.console.print(f"[red]{escape(str(exc))}[/]")

    def offer_habit(self) -> None:
        """Offer, once, a request the person keeps making at about the same time."""
        from llmos_shell.errors import LlmosError
        from llmos_shell.scheduler.habits import HabitMemory, habit_to_offer

        if self.ask is None:
            return
        paths = self.app.config.paths
        memory = HabitMemory(paths.state_dir / "habits.json")
        automated = []
        if store_exists(self.app.config):
            automated = [r.spec.action for r in self.store.jobs() if r.spec is not None]
        habit = habit_to_offer(
            self.app.audit.read(), self.now().tzinfo or _utc(), memory, automated
        )
        if habit is None:
            return
        self.console.print(
            f"You asked [bold]{escape(habit.request)}[/] on {len(habit.days)} days at about "
            f"{habit.hour:02d}:{habit.minute:02d}. Make it an automation, {habit.phrase}?"
        )
        try:
            answer = self.ask("[y]es / [n]o: ", "").strip().lower()
        except (EOFError, KeyboardInterrupt):
            answer = "n"
        if answer not in ("y", "yes"):
            memory.remember(habit.key, "declined")
            self.console.print("[dim]Not offered again.[/]")
            return
        memory.remember(habit.key, "accepted")
        try:
            self.add(habit.request, when=habit.phrase)
        except LlmosError as exc:
            self.console.print(f"[red]{escape(str(exc))}[/]")

    def slash(self, rest: str) -> None:
        """/jobs [list | add WHEN WHAT | show N | pause N | resume N | remove N | run-now N | history [N]]."""
        from llmos_shell.errors import LlmosError
        from llmos_shell.scheduler.runner import run_job

        action, _, argument = rest.strip().partition(" ")
        action, argument = action or "list", argument.strip()
        numbered = ("show", "pause", "resume", "remove", "run-now", "run")
        if action == "add":
            if not argument:
                raise LlmosError(
                    "say when and what: /jobs add every weekday at 9 show me disk usage"
                )
            self.add(argument)
            return
        if action == "list":
            self.list_jobs()
            return
        if action == "history":
            self.history(int(argument) if argument.isdigit() else None)
            return
        if action not in numbered:
            raise LlmosError(
                f"/jobs {action} is not a /jobs action; they are list, add, {', '.join(numbered[:-1])} and history"
            )
        if not argument.isdigit():
            raise LlmosError(f"say which automation: /jobs {action} N (the numbers are in /jobs)")
        number = int(argument)
        if action == "show":
            self.show_job(number)
        elif action in ("run-now", "run"):
            outcome = run_job(
                self.store, self.app, number, reason="run-now", scheduled_for=None, runner="cli"
            )
            style = STATUS_STYLE.get(outcome.status, "white")
            self.console.print(
                f"Automation {number}: [{style}]{outcome.status}[/] — {escape(outcome.summary)}"
            )
        elif action == "remove":
            self.store.remove_job(number)
            self.console.print(f"Automation {number} removed.")
        else:
            self.store.set_state(number, "paused" if action == "pause" else "active")
            self.console.print(f"Automation {number} {action}d.")


def _utc() -> Any:
    from datetime import timezone

    return timezone.utc


def creation_misfire_words(policy: str) -> str:
    """What a misfire policy does, in words."""
    from llmos_shell.scheduler.spec import MISFIRE_POLICIES

    return MISFIRE_POLICIES.get(policy, policy)


def _moment(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return ""
    return shown_moment(datetime.fromisoformat(stamp), now)


def _run_cell(run: RunRecord, now: datetime) -> str:
    when = _moment(run.started_at or run.finished_at, now)
    return f"[{STATUS_STYLE.get(run.status, 'white')}]{run.status}[/] {when}"


def _entry_line(entry: InboxEntry, now: datetime) -> str:
    when = _moment(entry.created_at, now)
    body = f" — {escape(entry.body)}" if entry.body else ""
    return f"[dim]{when}[/] [bold]{escape(entry.title)}[/]{body}"
