"""From "every weekday at 9 show me disk usage" to a job the person can approve.

The time is read by the deterministic reader; the action becomes concrete tool calls: a
reminder is a `notify` call, `!command` is a shell command, anything else is planned by the
model through the session (one call per part, parts joined by "then"). Every call is judged
by the policy through `Session.run_call(dry_run=True)`. The person sees the trigger in words,
the next runs, each call and its risk, and approves once; the job stores those calls and the
highest risk approved. What could never be approved in advance (privileged calls, secrets,
commands that cannot be read, anything the policy refuses) cannot become a job.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Risk, Step, ToolCall, Verdict
from llmos_shell.errors import (
    ProposalError,
)
from llmos_shell.safety.approval import Ceiling, approvable_in_advance
from llmos_shell.scheduler import phrases
from llmos_shell.scheduler.spec import JobSpec, TriggerSpec, folder_identity
from llmos_shell.session import Session

if TYPE_CHECKING:
    from llmos_shell.app import App

NOTIFY_TOOL = "notify"
_REMINDER = re.compile(
    r"^\s*remind\s+me\s+(?:to\s+|that\s+|about\s+|of\s+)?(?P<what>.+)$", re.I | re.S
)
_PARTS = re.compile(r"\s*(?:,?\s+and\s+then\s+|,?\s+then\s+|;\s*)", re.I)
_SCHEDULING_TOOLS = ("schedule",)


@dataclass(frozen=True)
class Proposal:
    """A job as the person sees it before saying yes."""

    request: str
    phrase: str
    action: str
    trigger: TriggerSpec
    next_runs: tuple[datetime, ...]
    steps: tuple[Step, ...]

    @property
    def calls(self) -> tuple[ToolCall, ...]:
        """The calls the job will make, in order."""
        return tuple(step.call for step in self.steps)

    @property
    def risk(self) -> Risk:
        """The highest risk among the calls, by rank."""
        return max((step.decision.risk for step in self.steps), key=lambda risk: risk.rank)

    def to_json(self) -> dict[str, Any]:
        """What `llmos jobs add --dry-run --json` prints."""
        return {
            "trigger": self.trigger.to_json(),
            "next_runs": [moment.isoformat() for moment in self.next_runs],
            "calls": [call.to_json() for call in self.calls],
            "risk": self.risk.value,
        }

    def spec(self, *, approved_by: str, timeout_s: float, misfire: str) -> JobSpec:
        """The job spec to store once the person approved."""
        return JobSpec(
            request=self.request,
            action=self.action,
            trigger=self.trigger,
            calls=self.calls,
            approved_risk=self.risk,
            approved_by=approved_by,
            approved_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            timeout_s=timeout_s,
            misfire=misfire,
            folder=(here := _here()),
            folder_id=folder_identity(here),
        )


def _here() -> str | None:
    """The folder an automation is created in, where its calls will run; None if it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def job_now(app: App) -> datetime:
    """The time now in the automations' time zone."""
    return app.now()


def propose(
    app: App,
    text: str,
    *,
    when: str | None = None,
    now: datetime | None = None,
    cancel: threading.Event | None = None,
) -> Proposal:
    """Read `text` ("every weekday at 9 show me disk usage"), or `when` and `text` as the action."""
    from llmos_shell.scheduler import triggers

    now = now or job_now(app)
    if when is not None:
        trigger, phrase, action = phrases.read_when(when, now), when.strip(), text.strip()
        if not action:
            raise ProposalError("say what the automation should do, e.g. 'show me disk usage'")
    else:
        read = phrases.split_request(text, now)
        trigger, phrase, action = read.trigger, read.phrase, read.action
    runs = triggers.checked(trigger, now)
    steps = tuple(_judge(app, call, action) for call in plan_action(app, action, cancel=cancel))
    for step in steps:
        refuse_unapprovable(step)
    request = text if when is None else f"{phrase} {action}"
    return Proposal(request.strip(), phrase, action, trigger, tuple(runs), steps)


def plan_action(app: App, action: str, cancel: threading.Event | None = None) -> list[ToolCall]:
    """The calls an action makes: reminders and !commands directly, the rest by the planner."""
    calls: list[ToolCall] = []
    session: Session | None = None
    for part in (p.strip() for p in _PARTS.split(action) if p.strip()):
        reminder = _REMINDER.match(part)
        if reminder:
            calls.append(
                ToolCall(
                    NOTIFY_TOOL, {"message": reminder.group("what").strip(), "title": "Reminder"}
                )
            )
            continue
        if part.startswith("!"):
            command = part[1:].strip()
            if not command:
                raise ProposalError("'!' needs a command after it, e.g. '!df -h'")
            shell = app.registry.shell_tool()
            calls.append(ToolCall(shell.name, {shell.shell_command_arg or "command": command}))
            continue
        if session is None:
            # A session of its own: the job's action is planned without the shell's history.
            session = Session(app.planner, app.registry)
        planned = session.plan(part, cancel=cancel)
        if planned.call is None:
            raise ProposalError(
                f"'{part}' plans no tool call (the model answered: {(planned.answer or '')[:120]!r}); "
                "say what should run, e.g. 'show me disk usage', or give a command as '!df -h'"
            )
        if planned.call.tool in _SCHEDULING_TOOLS:
            raise ProposalError(
                f"'{part}' is itself an automation; an automation cannot create another"
            )
        calls.append(planned.call)
    if not calls:
        raise ProposalError("say what the automation should do, e.g. 'show me disk usage'")
    return calls


def _judge(app: App, call: ToolCall, action: str) -> Step:
    """The policy's decision on a call, through the pipeline, without running it."""
    session = app.session(planning=False)
    return session.run_call(call, request=f"automation: {action}", dry_run=True)


def refuse_unapprovable(step: Step) -> None:
    """Refuse, in one sentence, a call that may never run without someone watching.

    The same calls that `--yes` never approves: privileged ones (and any risk ranked above),
    reads of secrets, shell commands that cannot be read, and anything the policy refuses.
    """
    call, decision = step.call, step.decision
    shown = f"{call.tool}({', '.join(f'{k}={v!r}' for k, v in call.arguments.items())})"
    if decision.verdict is Verdict.DENY:
        raise ProposalError(
            f"{shown} is refused by the policy ({decision.reason}); nothing was created"
        )
    if not approvable_in_advance(decision.risk):
        raise ProposalError(
            f"{shown} is {decision.risk.value}, which is never approved in advance; run it "
            "yourself when you need it, and nothing was created"
        )
    if decision.sensitive:
        raise ProposalError(
            f"{shown} touches secrets ({', '.join(decision.sensitive)}), which is never approved in advance; nothing was created"
        )
    if not decision.parsed:
        raise ProposalError(
            f"{shown} runs a shell command that cannot be read, so it cannot be judged; nothing was created"
        )


def approval_needed(risk: Risk, *, yes: bool, yes_destructive: bool) -> bool:
    """Whether the flags given approve a job of this risk without asking (the one rule's
    ceiling for those flags)."""
    return not Ceiling.from_flags(yes=yes, yes_destructive=yes_destructive).admits(risk)
