"""One request, start to finish: plan, validate, decide, confirm, execute, observe, answer.

`Session` is the one place where a call is decided, approved, executed and audited. The
interactive shell, one-shot mode and `suggest` all go through `Session.run_call` (the
scheduler and an MCP server will too); only the confirmer differs. Whoever is (or is not)
watching is handed in as a callback, and one `cancel` event stops the model or the tool.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from llmos_shell.calls import Decision, ExecutionContext, Risk, ToolCall, ToolResult, Verdict
from llmos_shell.errors import Cancelled, ExitStatus, TruncatedOutputError, UnknownToolError
from llmos_shell.planning.planner import Planner, Transcript, Turn
from llmos_shell.planning.replies import Action
from llmos_shell.registry import Registry, Tool
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.executor import execute
from llmos_shell.safety.policy import PolicyOptions, auto_answer, decide
from llmos_shell.safety.sandbox import NO_SANDBOX_REASON, ShellSandbox, gate
from llmos_shell.safety.worker import WorkerPool


@dataclass(frozen=True)
class Approval:
    """A confirmer's answer: run it (maybe with edited arguments) or not, and who said so."""

    approved: bool
    by: str
    arguments: dict[str, Any] | None = None


Confirmer = Callable[[ToolCall, Tool, Decision], Approval]


def deny_all(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
    """The confirmer when nobody is watching: anything that needs a yes gets a no."""
    if NO_SANDBOX_REASON in decision.reasons:
        hint = 'no sandbox can run here, so a person must approve it (or set sandbox = "off")'
    elif decision.risk in (Risk.WRITE, Risk.NETWORK):
        hint = "pass --yes to approve writes"
    elif decision.risk is Risk.DESTRUCTIVE:
        hint = "pass --yes-destructive to approve it"
    else:
        hint = "run it in the interactive shell to approve it"
    return Approval(approved=False, by=f"no one was asked: input is not a terminal; {hint}")


class Events(Protocol):
    """What the pipeline tells its front end while a request runs."""

    def planned(self, call: ToolCall, decision: Decision) -> None:
        """A call was planned and judged."""

    def answer_text(self, text: str) -> None:
        """A piece of the final answer, as it streams."""

    def result(self, result: ToolResult) -> None:
        """A call ran."""

    def declined(self, call: ToolCall, approval: Approval) -> None:
        """A call was not run."""

    def notice(self, text: str) -> None:
        """Something the person should know (a skipped repeat, a step limit)."""


class SilentEvents:
    """Events that go nowhere (batch and JSON modes)."""

    def planned(self, call: ToolCall, decision: Decision) -> None:
        """Ignore."""

    def answer_text(self, text: str) -> None:
        """Ignore."""

    def result(self, result: ToolResult) -> None:
        """Ignore."""

    def declined(self, call: ToolCall, approval: Approval) -> None:
        """Ignore."""

    def notice(self, text: str) -> None:
        """Ignore."""


class Status(str, enum.Enum):
    """How a request ended."""

    ANSWERED = "answered"
    PLANNED = "planned"  # dry run: calls planned, nothing executed
    DECLINED = "declined"
    TOOL_FAILED = "tool_failed"
    CANCELLED = "cancelled"

    @property
    def exit_status(self) -> ExitStatus:
        """The process exit code for this ending."""
        return {
            Status.ANSWERED: ExitStatus.OK,
            Status.PLANNED: ExitStatus.OK,
            Status.DECLINED: ExitStatus.DECLINED,
            Status.TOOL_FAILED: ExitStatus.TOOL_FAILED,
            Status.CANCELLED: ExitStatus.INTERRUPTED,
        }[self]


@dataclass(frozen=True)
class Step:
    """One planned call with its decision and, if it ran, its result."""

    call: ToolCall
    decision: Decision
    approval: Approval | None
    result: ToolResult | None


@dataclass
class RequestOutcome:
    """Everything that happened for one request."""

    request: str
    steps: list[Step] = field(default_factory=list)
    answer: str | None = None
    status: Status = Status.ANSWERED

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form for `--json`."""
        return {
            "request": self.request,
            "status": self.status.value,
            "answer": self.answer,
            "steps": [
                {
                    "tool": step.call.tool,
                    "arguments": step.call.arguments,
                    "risk": step.decision.risk.value,
                    "verdict": step.decision.verdict.value,
                    "approved_by": step.approval.by if step.approval else None,
                    "ran": step.result is not None,
                    "ok": step.result.ok if step.result else None,
                    "data": step.result.data if step.result and step.result.ok else None,
                    "error": step.result.error if step.result else None,
                }
                for step in self.steps
            ],
        }


class Conversation:
    """The last few requests of one interactive session, so follow-ups can refer to them."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self.turns: list[Turn] = []

    def add(self, outcome: RequestOutcome) -> None:
        """Remember a finished request and its first call (or its answer)."""
        first = outcome.steps[0].call if outcome.steps else None
        self.turns = [*self.turns, Turn(outcome.request, first, outcome.answer)][-self.keep :]

    def clear(self) -> None:
        """Forget everything (a new topic)."""
        self.turns = []


class Session:
    """Runs requests through planner, policy, confirmer and executor, and keeps the audit."""

    def __init__(
        self,
        planner: Planner,
        registry: Registry,
        *,
        confirmer: Confirmer = deny_all,
        options: PolicyOptions | None = None,
        audit: AuditLog | None = None,
        max_steps: int = 4,
        chain_after_success: bool = False,
        tool_timeout_s: float = 60.0,
        debug: bool = False,
        conversation: Conversation | None = None,
        sandbox: ShellSandbox | None = None,
        pool: WorkerPool | None = None,
        read_only: tuple[str, ...] = (),
    ) -> None:
        self.conversation = conversation
        self.sandbox = sandbox or ShellSandbox()
        self.pool = pool
        self.read_only = read_only  # kept read-only in the sandbox: the plugin folder
        self.planner = planner
        self.registry = registry
        self.confirmer = confirmer
        self.options = options or PolicyOptions(yes_writes=False, yes_destructive=False)
        self.audit = audit
        self.max_steps = max_steps
        self.chain_after_success = chain_after_success
        self.tool_timeout_s = tool_timeout_s
        self.debug = debug

    def plan(self, request: str, cancel: threading.Event | None = None) -> Action:
        """The first action for `request`, without running anything."""
        return self.planner.next_action(self._transcript(request), cancel=cancel)

    def _transcript(self, request: str) -> Transcript:
        history = tuple(self.conversation.turns) if self.conversation else ()
        return Transcript(request, history=history)

    def run(
        self,
        request: str,
        events: Events | None = None,
        *,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> RequestOutcome:
        """Plan and run `request` to an answer, asking the confirmer where policy says so.

        Setting `cancel` stops the model between tokens or stops waiting for a tool; the
        outcome then says cancelled.
        """
        events = events or SilentEvents()
        outcome = RequestOutcome(request=request)
        if self.pool is not None and not dry_run:
            self.pool.prestart()  # the worker starts while the model plans
        try:
            self._run(outcome, events, dry_run=dry_run, cancel=cancel)
        except Cancelled:
            outcome.status = Status.CANCELLED
        if self.conversation is not None and not dry_run:
            self.conversation.add(outcome)
        return outcome

    def _run(
        self,
        outcome: RequestOutcome,
        events: Events,
        *,
        dry_run: bool,
        cancel: threading.Event | None,
    ) -> None:
        request = outcome.request
        transcript = self._transcript(request)
        for step_index in range(self.max_steps + 1):
            last_ok = bool(transcript.steps) and transcript.steps[-1][1].ok
            final = step_index == self.max_steps or (last_ok and not self.chain_after_success)
            try:
                action = self.planner.next_action(
                    transcript, final=final, on_answer_text=events.answer_text, cancel=cancel
                )
            except TruncatedOutputError as exc:
                events.notice(str(exc))
                outcome.status = Status.TOOL_FAILED
                return
            if action.call is None:
                outcome.answer = action.answer
                return
            call = action.call
            if transcript.steps and transcript.steps[-1][0] == call:
                # Small models tend to repeat a call after its result; answer instead.
                events.notice(f"{call.tool} was already run with these arguments.")
                action = self.planner.next_action(
                    transcript, final=True, on_answer_text=events.answer_text, cancel=cancel
                )
                outcome.answer = action.answer
                return
            step = self.run_call(call, request=request, events=events, dry_run=dry_run, cancel=cancel)
            outcome.steps.append(step)
            if dry_run:
                outcome.status = Status.PLANNED
                return
            if step.result is None:
                outcome.status = Status.DECLINED
                return
            if step.result.cancelled:
                raise Cancelled()
            transcript.steps.append((step.call, step.result))

    def run_call(
        self,
        call: ToolCall,
        *,
        request: str,
        events: Events | None = None,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
    ) -> Step:
        """Judge one call, ask for approval where policy says so, run it, and audit it.

        The one way a call reaches the executor: planned calls, `suggest`'s commands and
        (later) scheduled jobs all come through here. An edited call is judged again, and
        the policy can still refuse it.
        """
        events = events or SilentEvents()
        try:
            tool = self.registry.get(call.tool)
        except UnknownToolError as exc:  # only possible when a front end bypasses the grammar
            decision = Decision(Verdict.DENY, risk=Risk.PRIVILEGED, reason=str(exc))
            events.planned(call, decision)
            return Step(call, decision, None, None)
        decision, must_ask = self._judge(call, tool, events)
        events.planned(call, decision)
        if dry_run:
            return Step(call, decision, None, None)
        approval = self._approve(call, tool, decision, must_ask)
        if approval.arguments is not None and approval.arguments != call.arguments:
            call = ToolCall(call.tool, dict(approval.arguments))
            # The confirmer showed the edited call before its yes; policy still vetoes it.
            decision, _ = self._judge(call, tool, events)
            if decision.verdict is Verdict.DENY:
                approval = Approval(False, by="policy")
        if not approval.approved:
            events.declined(call, approval)
            self._audit(request, call, decision, None, None)
            return Step(call, decision, approval, None)
        context = ExecutionContext(
            # the person (or their --yes) approved a call whose risk is the network
            network=decision.risk is Risk.NETWORK and decision.verdict is Verdict.ASK,
            sandbox=self.sandbox.mode,
            read_only=self.read_only,
        )
        result = execute(
            call,
            tool,
            timeout_s=self.tool_timeout_s,
            debug=self.debug,
            cancel=cancel,
            context=context,
            pool=self.pool,
        )
        events.result(result)
        self._audit(request, call, decision, approval.by, result)
        return Step(call, decision, approval, result)

    def _audit(
        self,
        request: str,
        call: ToolCall,
        decision: Decision,
        approved_by: str | None,
        result: ToolResult | None,
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                request=request,
                call=call,
                decision=decision,
                approved_by=approved_by,
                result=result,
            )

    def _judge(self, call: ToolCall, tool: Tool, events: Events) -> tuple[Decision, bool]:
        """The policy's decision, and whether a person must approve it whatever the flags.

        A shell command that cannot be sandboxed here is refused (sandbox = "required") or,
        unless it is read-only, goes to a person even under --yes; the first time, the person
        is told once why.
        """
        decision = decide(call, tool)
        if tool.shell_command_arg is None or self.sandbox.mode == "off":
            return decision, False
        status = self.sandbox.status()
        if not status.usable and self.sandbox.mode == "auto":
            sentence = self.sandbox.announce()
            if sentence is not None:
                events.notice(sentence)
        return gate(decision, self.sandbox.mode, status)

    def _approve(
        self, call: ToolCall, tool: Tool, decision: Decision, must_ask: bool = False
    ) -> Approval:
        if decision.verdict is Verdict.ALLOW:
            return Approval(True, by="policy")
        if decision.verdict is Verdict.DENY:
            return Approval(False, by="policy")
        pre = None if must_ask else auto_answer(decision, self.options)
        if pre is True:
            return Approval(True, by="--yes flag")
        if pre is False:
            return Approval(False, by="policy")
        return self.confirmer(call, tool, decision)
