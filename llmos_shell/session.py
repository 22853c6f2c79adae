"""One request, start to finish: plan, validate, decide, confirm, execute, observe, answer.

`Session` is the one place where a call is decided, approved, executed and audited. The
interactive shell, one-shot mode and `suggest` all go through `Session.run_call` (the
scheduler's unattended runs, and an MCP server, do too); only the confirmer differs. Whoever is (or is not)
watching is handed in as a callback, and one `cancel` event stops the model or the tool.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from llmos_shell.calls import (
    Approval,
    Decision,
    ExecutionContext,
    RequestOutcome,
    Risk,
    Status,
    Step,
    ToolCall,
    ToolResult,
    Verdict,
    memory_line,
)
from llmos_shell.errors import (
    Cancelled,
    LlmosError,
    TruncatedOutputError,
    UnknownToolError,
)
from llmos_shell.planning.answers import (
    claim_free_reply,
    grounded_answer,
    honest_limits,
    summarize,
)
from llmos_shell.planning.planner import MemoryContext, Planner, Transcript, Turn
from llmos_shell.planning.replies import Action
from llmos_shell.planning.shortlist import PlanExample
from llmos_shell.registry import Registry, Tool
from llmos_shell.safety.audit import AuditLog
from llmos_shell.safety.executor import execute
from llmos_shell.safety.policy import (
    AFTER_RESULT_REASON,
    PolicyOptions,
    auto_answer,
    decide,
    planned_after_result,
)
from llmos_shell.safety.sandbox import NO_SANDBOX_REASON, ShellSandbox, gate
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.safety.worker import WorkerPool
from llmos_shell.vocabulary.references import reads_as_follow_up

if TYPE_CHECKING:
    from llmos_shell.memory.records import MemoryRecord
    from llmos_shell.memory.service import Memory


Confirmer = Callable[[ToolCall, Tool, Decision], Approval]


def deny_all(call: ToolCall, tool: Tool, decision: Decision) -> Approval:
    """The confirmer when nobody is watching: anything that needs a yes gets a no."""
    if AFTER_RESULT_REASON in decision.reasons:
        hint = (
            "it was planned after reading a tool's result, so only a person can approve it: "
            "ask for it directly, or run the request in the interactive shell"
        )
    elif NO_SANDBOX_REASON in decision.reasons:
        hint = 'no sandbox can run here, so a person must approve it (or set sandbox = "off")'
    elif decision.sensitive or not decision.parsed:
        hint = "run it in the interactive shell to approve it"
    elif decision.risk in (Risk.WRITE, Risk.NETWORK):
        hint = "pass --yes to approve writes"
    elif decision.risk is Risk.DESTRUCTIVE:
        hint = "pass --yes-destructive to approve it"
    elif decision.risk is Risk.UNKNOWN:
        hint = "what it does cannot be known before it runs, so only a person can approve it"
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


class Conversation:
    """The last few requests of one interactive session, so follow-ups can refer to them."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self.turns: list[Turn] = []

    def add(self, outcome: RequestOutcome) -> None:
        """Remember a finished request and its first call (or its answer)."""
        first = outcome.steps[0].call if outcome.steps else None
        results = tuple(
            step.result.data for step in outcome.steps if step.result is not None and step.result.ok
        )
        ran = outcome.steps[0].result if outcome.steps else None
        how = "answered" if first is None else "declined" if ran is None else (
            "ok" if ran.ok else "failed"
        )
        turn = Turn(outcome.request, first, outcome.answer, results, how)
        self.turns = [*self.turns, turn][-self.keep :]

    def clear(self) -> None:
        """Forget everything (a new topic)."""
        self.turns = []


class Session:
    """Runs requests through planner, policy, confirmer and executor, and keeps the audit."""

    def __init__(
        self,
        planner: Planner | None,
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
        undo: UndoJournal | None = None,
        memory: Memory | None = None,
        sandbox: ShellSandbox | None = None,
        pool: WorkerPool | None = None,
        read_only: tuple[str, ...] = (),
    ) -> None:
        """`planner` may be None for a session that only runs given calls (`llmos undo`);
        `undo` is the journal that records every call that is not read-only."""
        self.conversation = conversation
        self.memory = memory
        self.last_memories: tuple[MemoryRecord, ...] = ()
        self.sandbox = sandbox or ShellSandbox()
        self.pool = pool
        self.read_only = read_only  # kept read-only in the sandbox: the plugin folder
        self.folder: str | None = None  # where calls run; None: the current folder
        self.planner = planner
        self.registry = registry
        self.confirmer = confirmer
        self.options = options or PolicyOptions(yes_writes=False, yes_destructive=False)
        self.audit = audit
        self.max_steps = max_steps
        self.chain_after_success = chain_after_success
        self.tool_timeout_s = tool_timeout_s
        self.debug = debug
        self.undo = undo

    def _planner(self) -> Planner:
        if self.planner is None:
            raise RuntimeError("this session runs given calls only; it has no planner")
        return self.planner

    def plan(self, request: str, cancel: threading.Event | None = None) -> Action:
        """The first action for `request`, without running anything."""
        return self._planner().next_action(self._transcript(request), cancel=cancel)

    def _transcript(self, request: str) -> Transcript:
        # The turn before enters only when the request reads as building on it, so a call
        # (a declined one above all) never returns uninvited and its values never leak.
        history: tuple[Turn, ...] = ()
        if self.conversation is not None and reads_as_follow_up(request):
            history = tuple(self.conversation.turns)
        return Transcript(request, history=history, memory=self._memory_for(request, history))

    def _memory_for(self, request: str, history: tuple[Turn, ...]) -> MemoryContext | None:
        """What memory adds to planning `request`; a memory that fails plans without it."""
        self.last_memories = ()
        if self.memory is None:
            return None
        try:
            found = self.memory.for_plan(
                request, context=history[-1].request if history else "", tools=self.registry
            )
        except LlmosError as exc:
            self.memory.store.notices.append(f"planned without memory: {exc}")
            return None
        self.last_memories = found.used
        examples = tuple(PlanExample(e.request, e.tool, e.arguments, source=e.source) for e in found.examples)
        return MemoryContext(notes=found.notes, examples=examples, grounding=found.grounding)

    def _learn(self, outcome: RequestOutcome) -> None:
        """Keep a request whose calls all ran and succeeded (not one the person corrected)."""
        steps = outcome.steps
        if self.memory is None or outcome.status is not Status.ANSWERED or not steps:
            return
        if all(s.result is not None and s.result.ok and s.planned is None for s in steps):
            self.memory.record_episode(outcome.request, [s.call.to_json() for s in steps])

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
        last = outcome.steps[-1].result if outcome.steps else None
        if outcome.status is Status.ANSWERED and last is not None and not last.ok:
            outcome.status = Status.TOOL_FAILED  # an answer after a failure is no success
        outcome.memories = self.last_memories
        if self.conversation is not None and not dry_run:
            self.conversation.add(outcome)
        if not dry_run:
            self._learn(outcome)
        for line in self.memory.pop_notices() if self.memory else ():
            events.notice(line)
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
        planner = self._planner()
        transcript = self._transcript(request)
        for step_index in range(self.max_steps + 1):
            last_ok = bool(transcript.steps) and transcript.steps[-1][1].ok
            final = step_index == self.max_steps or (last_ok and not self.chain_after_success)
            try:
                action = planner.next_action(transcript, final=final, cancel=cancel)
            except TruncatedOutputError as exc:
                events.notice(str(exc))
                outcome.status = Status.TOOL_FAILED
                return
            if action.call is None:
                self._answer(outcome, transcript, action.answer, events)
                return
            call = action.call
            if transcript.steps and transcript.steps[-1][0] == call:
                # Small models tend to repeat a call after its result; answer instead.
                action = planner.next_action(transcript, final=True, cancel=cancel)
                self._answer(outcome, transcript, action.answer, events)
                return
            note = memory_line(self.last_memories) if step_index == 0 and self.last_memories else None
            step = self.run_call(
                call,
                request=request,
                events=events,
                dry_run=dry_run,
                cancel=cancel,
                note=note,
                after_result=bool(transcript.steps),
            )
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

    def _answer(
        self, outcome: RequestOutcome, transcript: Transcript, text: str | None, events: Events
    ) -> None:
        """The answer as shown: held to what the results say, or an honest limit.

        After tools ran, only an answer whose claims the results confirm is shown, else a
        summary built from the result; with no tool used, a short reply without claims (a
        greeting) is kept, anything else is one sentence of what the tools can do.
        """
        results = [result.data for _, result in transcript.steps if result.ok]
        if results:
            answer = grounded_answer(text, results, transcript.request) or summarize(
                results, transcript.request
            )
        elif transcript.steps:  # every call failed; its error is shown already
            answer = claim_free_reply(text)
        else:
            selection = transcript.selection
            closest: list[Tool] = []
            if selection is not None and selection.scores:
                ranked = sorted(selection.scores, key=lambda n: -selection.scores[n])
                closest = [self.registry.get(n) for n in ranked if n in self.registry]
            answer = claim_free_reply(text) or honest_limits(closest)
        outcome.answer = answer
        if answer:
            events.answer_text(answer)

    def run_call(
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
    ) -> Step:
        """Judge one call, ask for approval where policy says so, run it, and audit it.

        The one way a call reaches the executor: planned calls, `suggest`'s commands, the
        undo and (later) scheduled jobs all come through here. An edited call is judged
        again, and the policy can still refuse it; an edited call that ran well is
        remembered as a correction. `tool` runs one of the shell's own tools that the model
        is never offered (the undo) instead of looking the name up. `note` is shown under
        the planned call (the memories that shaped it); `planned` is the call as first
        suggested, when the person edited it before this (as `suggest` lets them).
        `after_result`: the model planned it after reading a tool's result, which may carry
        instructions; it then needs a person's yes, never a flag's.
        """
        planned = planned if planned != call else None
        events = events or SilentEvents()
        if tool is None:
            try:
                tool = self.registry.get(call.tool)
            except UnknownToolError as exc:  # only when a front end bypasses the grammar
                decision = Decision(Verdict.DENY, risk=Risk.PRIVILEGED, reason=str(exc))
                events.planned(call, decision)
                return Step(call, decision, None, None)
        decision, must_ask = self._judge(call, tool, events)
        if after_result:  # a yes, if one is needed, is a person's: no flag's
            decision = planned_after_result(decision)
            must_ask = must_ask or decision.verdict is Verdict.ASK
        events.planned(call, decision)
        if note:
            events.notice(note)
        if dry_run:
            return Step(call, decision, None, None)
        approval = self._approve(call, tool, decision, must_ask)
        edited_by_person = planned is not None
        if approval.arguments is not None and approval.arguments != call.arguments:
            planned, call = planned or call, ToolCall(call.tool, dict(approval.arguments))
            edited_by_person = approval.by == "person"
            # The confirmer showed the edited call before its yes; policy still vetoes it.
            decision, _ = self._judge(call, tool, events)
            if decision.verdict is Verdict.DENY:
                approval = Approval(False, by="policy")
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
        if planned is not None and edited_by_person and result.ok and self.memory:
            self.memory.record_correction(request, planned.to_json(), call.to_json())
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
        for call in approval.replacement:
            try:
                tool = self.registry.get(call.tool)
            except UnknownToolError as exc:
                decision = Decision(Verdict.DENY, risk=Risk.PRIVILEGED, reason=str(exc))
                return Step(call, decision, Approval(False, by="policy"), None)
            decision, _ = self._judge(call, tool, events)  # the person chose it: no second ask
            events.planned(call, decision)
            if decision.verdict is Verdict.DENY:
                refused = Approval(False, by="policy")
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
        configured, in a worker process of the pool."""
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
