"""The call kernel: the one door every tool call passes, whoever planned it.

A call is looked up through the registry (built-ins, plugins, MCP servers: its sources), judged
by the policy (catastrophes, the shell reader, secrets) and then by an ordered list of guards
(the sandbox gate, calls planned after reading a result, the calls an automation approved, the
person's rules), approved by the one rule in `approval` (with this kernel's ceiling: nothing,
the `--yes` flags, or an automation's approval) or by the confirmer, filed in the undo journal,
run (in a worker, in this process, or through an MCP session: the tool's source decides),
audited, and returned as a `Step`.

Every front end holds a kernel with its own confirmer and ceiling: the shell asks at the
terminal, one-shot mode and the scheduler never ask (deny by default), the MCP server asks
through its client. Only this module reaches the executor and the audit log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from llmos_shell.calls import (
    Approval,
    Approver,
    Decision,
    ExecutionContext,
    Risk,
    Step,
    ToolCall,
    ToolResult,
    Verdict,
)
from llmos_shell.errors import UnknownToolError
from llmos_shell.safety.approval import Ceiling, beyond, person_only, unattended
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.executor import execute
from llmos_shell.safety.footprint import footprint_line
from llmos_shell.safety.policy import (
    AFTER_RESULT_REASON,
    PIPED_INPUT_REASON,
    decide,
    planned_after_result,
)
from llmos_shell.safety.rules import RuleStore
from llmos_shell.safety.sandbox import NO_SANDBOX_REASON, ShellSandbox, gate
from llmos_shell.safety.wall import folder_word, run_folder

if TYPE_CHECKING:
    from llmos_shell.registry import Registry, Tool
    from llmos_shell.safety.undo import UndoJournal
    from llmos_shell.safety.worker import WorkerPool

Confirmer = Callable[[ToolCall, "Tool", Decision], Approval]


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


def deny_all(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
    """The confirmer when nobody is watching: anything that needs a yes gets a no, saying
    what would approve it."""
    if AFTER_RESULT_REASON in decision.reasons:
        hint = (
            "it was planned after reading a tool's result, so only a person can approve it: "
            "ask for it directly, or run the request in the interactive shell"
        )
    elif PIPED_INPUT_REASON in decision.reasons:
        hint = (
            "it was planned from piped text, so only a person can approve it: run the "
            "command it shows yourself, or ask for it without the pipe"
        )
    elif NO_SANDBOX_REASON in decision.reasons:
        hint = 'no sandbox can run here, so a person must approve it (or set sandbox = "off")'
    elif decision.risk is Risk.UNKNOWN:
        hint = "what it does cannot be known before it runs, so only a person can approve it"
    elif person_only(decision) is not None:
        hint = "run it in the interactive shell to approve it"
    elif Ceiling.from_flags(yes=True).admits(decision.risk):
        hint = "pass --yes to approve writes"
    elif Ceiling.from_flags(yes_destructive=True).admits(decision.risk):
        hint = "pass --yes-destructive to approve it"
    else:
        hint = "run it in the interactive shell to approve it"
    return Approval(
        approved=False,
        by=f"no one was asked: input is not a terminal; {hint}",
        approver=Approver.NOBODY,
    )


@dataclass(frozen=True)
class Judgement:
    """A call's decision as the guards leave it, and whether only a person may approve it."""

    decision: Decision
    must_ask: bool = False
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallSite:
    """What guards know of where a call comes from: the request, and whether the model
    planned it after reading a tool's result."""

    request: str
    after_result: bool = False
    after_piped: bool = False  # planned from text piped into the request

    @property
    def from_data(self) -> bool:
        """Planned after reading data (a result, piped text) that may carry instructions."""
        return self.after_result or self.after_piped


class Guard(Protocol):
    """One check of the kernel: takes the judgement so far, returns it (perhaps stricter)."""

    def __call__(
        self, call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite
    ) -> Judgement:
        """The judgement after this guard."""


@dataclass(frozen=True)
class SandboxGuard:
    """A shell command that cannot be sandboxed here is refused (sandbox = "required") or,
    unless read-only, goes to a person even under --yes; the person is told once why."""

    sandbox: ShellSandbox

    def __call__(
        self, call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite
    ) -> Judgement:
        """The judgement with the sandbox's verdict folded in."""
        if tool.shell_command_arg is None or self.sandbox.mode == "off":
            return judgement
        status = self.sandbox.status()
        notices = judgement.notices
        if not status.usable and self.sandbox.mode == "auto":
            sentence = self.sandbox.announce()
            if sentence is not None:
                notices = (*notices, sentence)
        decision, must_ask = gate(judgement.decision, self.sandbox.mode, status)
        return Judgement(decision, judgement.must_ask or must_ask, notices)


def after_result_guard(
    call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite
) -> Judgement:
    """A call planned after reading a result says so, and a yes, if needed, is a person's."""
    if not site.from_data:
        return judgement
    why = AFTER_RESULT_REASON if site.after_result else PIPED_INPUT_REASON
    decision = planned_after_result(judgement.decision, why)
    return Judgement(
        decision, judgement.must_ask or decision.verdict is Verdict.ASK, judgement.notices
    )


@dataclass(frozen=True)
class FootprintGuard:
    """A call that deletes or moves a whole folder carries the count and size of what a yes
    takes ("this moves the whole folder Downloads: 8 items, 330 MB"), in every tool."""

    folder: str | None = None

    def __call__(
        self, call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite
    ) -> Judgement:
        """The judgement with the footprint line on its decision."""
        line = footprint_line(call, tool, self.folder)
        if not line:
            return judgement
        decision = dataclasses.replace(judgement.decision, footprint=line)
        return Judgement(decision, judgement.must_ask, judgement.notices)


@dataclass(frozen=True)
class ApprovedCallsGuard:
    """Only the calls an automation's person approved may run under its ceiling; any other
    call (a stored spec changed behind llmos's back) is refused."""

    approved: tuple[dict[str, Any], ...]
    REASON = "it is not one of the calls approved when the automation was created"

    def admits(self, call: ToolCall) -> bool:
        """Whether `call` is one of the approved calls, to the letter."""
        return call.to_json() in self.approved

    def __call__(
        self, call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite
    ) -> Judgement:
        """Refuse a call that is not one of the approved ones."""
        if self.admits(call):
            return judgement
        reason = self.REASON
        old = judgement.decision
        decision = Decision(
            Verdict.DENY,
            old.risk,
            reason,
            (*old.reasons, reason),
            old.sensitive,
            old.programs,
            old.parsed,
        )
        return Judgement(decision, judgement.must_ask, judgement.notices)


@dataclass
class CallKernel:
    """The one door for tool calls; see the module's docstring for what it does in order."""

    registry: Registry
    confirmer: Confirmer = deny_all
    ceiling: Ceiling = field(default_factory=Ceiling)
    audit: AuditLog | None = None
    undo: UndoJournal | None = None
    sandbox: ShellSandbox = field(default_factory=ShellSandbox)
    pool: WorkerPool | None = None
    read_only: tuple[str, ...] = ()  # kept read-only in the sandbox: the plugin folder
    folder: str | None = None  # where calls run; None: the current folder
    tool_timeout_s: float = 60.0
    debug: bool = False
    services: Any = None  # what in-process tools may use (memory, drafts, inbox, clock)
    guards: Sequence[Guard] = ()  # after the built-in ones, in order
    rules: RuleStore | None = None  # the person's standing rules: their own requests only
    # How a result is restated for the person before anyone sees it (sizes in their unit).
    present: Callable[[ToolResult], ToolResult] | None = None

    def judge(self, call: ToolCall, tool: Tool, site: CallSite) -> Judgement:
        """The policy's decision on a call, refined by every guard in order."""
        where = folder_word(run_folder(call, tool, self.folder))  # `rm -rf *` is judged there
        judgement = Judgement(decide(call, tool, where, cwd=self.folder))
        for guard in self._guards():
            judgement = guard(call, tool, judgement, site)
        return judgement

    def _guards(self) -> tuple[Guard, ...]:
        return (
            SandboxGuard(self.sandbox),
            after_result_guard,
            FootprintGuard(self.folder),
            *self.guards,
        )

    def approve(self, call: ToolCall, tool: Tool, judgement: Judgement, site: CallSite) -> Approval:
        """Who says yes: the policy, the ceiling (the one rule in `approval`), or the confirmer."""
        decision = judgement.decision
        if decision.verdict is Verdict.ALLOW:
            return Approval(True, by="policy", approver=Approver.POLICY)
        if decision.verdict is Verdict.DENY:
            return Approval(False, by="policy", approver=Approver.POLICY)
        verdict = (
            None
            if judgement.must_ask
            else unattended(decision, self.ceiling, after_result=site.from_data)
        )
        if verdict is True:
            return Approval(True, by=self.ceiling.by, approver=self.ceiling.approver)
        if verdict is False:
            return Approval(False, by="policy", approver=Approver.POLICY)
        only_a_person = judgement.must_ask or site.from_data
        rule = (
            self.rules.approving(call, tool, decision, only_a_person, self.folder)
            if self.rules
            else None
        )
        if rule is not None:
            return Approval(True, by=f"rule ({rule.describe()})", approver=Approver.RULE)
        return self.confirmer(call, tool, decision)

    def why_not_unattended(self, decision: Decision, *, after_result: bool = False) -> str | None:
        """Why this kernel's ceiling does not run the call unasked, or None when it does."""
        return beyond(decision, self.ceiling, after_result=after_result)

    def lookup(self, call: ToolCall) -> Tool:
        """The tool a call names, through the registry's sources; UnknownToolError if none."""
        return self.registry.get(call.tool)

    def call(
        self,
        call: ToolCall,
        *,
        request: str,
        events: Events | None = None,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
        tool: Tool | None = None,
        note: str | None = None,
        planned: ToolCall | None = None,
        after_result: bool = False,
        after_piped: bool = False,
    ) -> Step:
        """Judge one call, ask for approval where needed, run it, and audit it.

        An edited call is judged again, and the policy can still refuse it. `tool` runs one of
        the shell's own tools that the model is never offered (the undo) instead of looking the
        name up. `note` is shown under the planned call; `planned` is the call as first
        suggested, when the person edited it before this. `after_result`: the model planned it
        after reading a tool's result, which may carry instructions; it then needs a person's
        yes, never a flag's or an automation's; `after_piped`: the same for a call planned from
        text piped into the request.
        """
        planned = planned if planned != call else None
        events = events or SilentEvents()
        site = CallSite(request, after_result, after_piped)
        if tool is None:
            try:
                tool = self.lookup(call)
            except UnknownToolError as exc:  # only when a front end bypasses the grammar
                decision = Decision(Verdict.DENY, risk=Risk.PRIVILEGED, reason=str(exc))
                events.planned(call, decision)
                return Step(call, decision, None, None)
        judgement = self.judge(call, tool, site)
        for line in judgement.notices:
            events.notice(line)
        decision = judgement.decision
        events.planned(call, decision)
        if note:
            events.notice(note)
        if dry_run:
            return Step(call, decision, None, None)
        approval = self.approve(call, tool, judgement, site)
        if approval.arguments is not None and approval.arguments != call.arguments:
            planned, call = planned or call, ToolCall(call.tool, dict(approval.arguments))
            # The confirmer showed the edited call before its yes; policy still vetoes it.
            decision = self.judge(call, tool, site).decision
            if decision.verdict is Verdict.DENY:
                approval = Approval(False, by="policy", approver=Approver.POLICY)
        if not approval.approved:
            events.declined(call, approval)
            self._audit(request, call, decision, None, None)
            return Step(call, decision, approval, None, planned)
        if approval.replacement:
            self._audit(request, call, decision, None, None)  # not run: replaced
            return self._run_replacement(approval, request, events, cancel)
        result = self._execute(request, call, tool, decision, cancel)
        events.result(result)
        self._audit(request, call, decision, approval.by, result)
        return Step(call, decision, approval, result, planned)

    def _run_replacement(
        self,
        approval: Approval,
        request: str,
        events: Events,
        cancel: threading.Event | None,
    ) -> Step:
        """Run the calls a person chose instead of a planned one, each judged again first."""
        results: list[ToolResult] = []
        step: Step | None = None
        site = CallSite(request)
        for call in approval.replacement:
            try:
                tool = self.lookup(call)
            except UnknownToolError as exc:
                decision = Decision(Verdict.DENY, risk=Risk.PRIVILEGED, reason=str(exc))
                return Step(
                    call, decision, Approval(False, by="policy", approver=Approver.POLICY), None
                )
            judgement = self.judge(call, tool, site)  # the person chose it: no second ask
            for line in judgement.notices:
                events.notice(line)
            decision = judgement.decision
            events.planned(call, decision)
            if decision.verdict is Verdict.DENY:
                refused = Approval(False, by="policy", approver=Approver.POLICY)
                events.declined(call, refused)
                self._audit(request, call, decision, None, None)
                return Step(call, decision, refused, None)
            result = self._execute(request, call, tool, decision, cancel)
            events.result(result)
            self._audit(request, call, decision, approval.by, result)
            results.append(result)
            step = Step(call, decision, approval, result)
            if not result.ok or result.cancelled:
                return step
        assert step is not None and step.result is not None
        if len(results) > 1:
            combined = ToolResult(
                step.call,
                ok=True,
                data={"results": [r.data for r in results]},
                duration_s=sum(r.duration_s for r in results),
            )
            step = Step(step.call, step.decision, approval, combined)
        return step

    def _execute(
        self,
        request: str,
        call: ToolCall,
        tool: Tool,
        decision: Decision,
        cancel: threading.Event | None,
    ) -> ToolResult:
        """Run an approved call: filed in the undo journal unless read-only, sandboxed as
        configured, in a worker process of the pool (or where its source runs it)."""
        recording: Any = contextlib.nullcontext(lambda result: None)
        if (
            self.undo is not None
            and decision.risk is not Risk.READ_ONLY
            and tool is not self.undo.tool
        ):
            # Written before the call runs, so a crash leaves a line saying it never finished.
            recording = self.undo.calling(request, call, tool)
        context = ExecutionContext(
            # the person (or their --yes) approved a call whose risk is the network
            network=decision.risk is Risk.NETWORK and decision.verdict is Verdict.ASK,
            sandbox=self.sandbox.mode,
            read_only=self.read_only,
            folder=self.folder,
            services=self.services,
            may_write=decision.risk is not Risk.READ_ONLY,
            limits=self.sandbox.limits,
        )
        with recording as finish:
            result = execute(
                call,
                tool,
                timeout_s=self.tool_timeout_s,
                debug=self.debug,
                cancel=cancel,
                context=context,
                pool=self.pool,
            )
            finish(result)
        if self.present is not None and result.ok:
            result = self.present(result)
        return result

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

    def with_confirmer(self, confirmer: Confirmer, ceiling: Ceiling | None = None) -> CallKernel:
        """The same kernel for another front end: its own confirmer (and ceiling)."""
        return dataclasses.replace(
            self, confirmer=confirmer, ceiling=self.ceiling if ceiling is None else ceiling
        )
