"""One request, start to finish: plan, call the kernel, observe, answer, learn.

`Session` keeps the request loop; every call it plans goes through its `CallKernel`
(`safety.kernel`), the one door where a call is judged, approved, run and audited. The
interactive shell, one-shot mode, `suggest`, the scheduler's unattended runs and the MCP
server each hold a kernel with their own confirmer and ceiling. Whoever is (or is not)
watching is handed in as a callback, and one `cancel` event stops the model or the tool.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import (
    Approval,
    RequestOutcome,
    Status,
    Step,
    ToolCall,
    ToolResult,
    memory_line,
)
from llmos_shell.errors import (
    Cancelled,
    LlmosError,
    TruncatedOutputError,
)
from llmos_shell.memory.aliases import states_a_fact
from llmos_shell.memory.conversations import Conversation
from llmos_shell.planning.answers import (
    AnswerGate,
    claim_free_reply,
    honest_limits,
    summarize,
)
from llmos_shell.planning.choosing import Chooser, choose, undo_answer
from llmos_shell.planning.headlines import knowledge_gate, knowledge_question, result_gate
from llmos_shell.planning.piped import PipedText
from llmos_shell.planning.planner import MemoryContext, Planner, Transcript, Turn
from llmos_shell.planning.replies import Action
from llmos_shell.planning.resolver import is_undo_request
from llmos_shell.planning.shortlist import PlanExample
from llmos_shell.registry import Registry, Tool
from llmos_shell.safety.approval import Ceiling
from llmos_shell.safety.kernel import (
    CallKernel,
    Confirmer,
    Events,
    Guard,
    SilentEvents,
    deny_all,
)
from llmos_shell.safety.policy import PolicyOptions
from llmos_shell.safety.rules import RuleStore
from llmos_shell.safety.sandbox import ShellSandbox
from llmos_shell.safety.undo import UndoJournal
from llmos_shell.safety.worker import WorkerPool
from llmos_shell.vocabulary.references import reads_as_follow_up
from llmos_shell.vocabulary.units import restate_sizes, size_unit_named

if TYPE_CHECKING:
    from llmos_shell.memory.records import MemoryRecord
    from llmos_shell.memory.service import Memory
    from llmos_shell.safety.audit import AuditLog

_STATED = "the request states a fact about you: it is remembered, not planned"

__all__ = [
    "Approval",
    "Confirmer",
    "Conversation",
    "Events",
    "Session",
    "SilentEvents",
    "deny_all",
]


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
        services: Any = None,
        ceiling: Ceiling | None = None,
        guards: tuple[Guard, ...] = (),
        chooser: Chooser | None = None,
    ) -> None:
        """`planner` may be None for a session that only runs given calls (`llmos undo`);
        `undo` is the journal that records every call that is not read-only. `ceiling` is what
        runs unasked (by default, what `options`' flags approve). `chooser` asks which thing
        was meant when several fit (None: the answer lists them, and nothing runs)."""
        self.conversation = conversation
        self.chooser = chooser
        self.last_notes: tuple[str, ...] = ()  # what the resolver changed, for /why
        self.last_trimmed: str | None = None  # what `plan` left out to fit the context
        self.memory = memory
        self.last_memories: tuple[MemoryRecord, ...] = ()
        self.planner = planner
        self.registry = registry
        self.options = options or PolicyOptions(yes_writes=False, yes_destructive=False)
        self.max_steps = max_steps
        self.chain_after_success = chain_after_success
        self.kernel = CallKernel(
            registry,
            confirmer=confirmer,
            ceiling=ceiling if ceiling is not None else self.options.ceiling,
            audit=audit,
            undo=undo,
            sandbox=sandbox or ShellSandbox(),
            pool=pool,
            read_only=read_only,
            tool_timeout_s=tool_timeout_s,
            debug=debug,
            services=services,
            guards=guards,
        )

    # What the kernel holds, as the session's own (front ends and tests read and set them).
    @property
    def confirmer(self) -> Confirmer:
        """Who is asked when a call needs a yes."""
        return self.kernel.confirmer

    @confirmer.setter
    def confirmer(self, value: Confirmer) -> None:
        self.kernel.confirmer = value

    @property
    def rules(self) -> RuleStore | None:
        """The person's standing rules (their own requests only; None: no rule approves)."""
        return self.kernel.rules

    @rules.setter
    def rules(self, value: RuleStore | None) -> None:
        self.kernel.rules = value

    @property
    def folder(self) -> str | None:
        """Where calls run; None: the current folder."""
        return self.kernel.folder

    @folder.setter
    def folder(self, value: str | None) -> None:
        self.kernel.folder = value

    @property
    def tool_timeout_s(self) -> float:
        """How long one call may run."""
        return self.kernel.tool_timeout_s

    @tool_timeout_s.setter
    def tool_timeout_s(self, value: float) -> None:
        self.kernel.tool_timeout_s = value

    @property
    def audit(self) -> AuditLog | None:
        """The audit log the kernel writes."""
        return self.kernel.audit

    @property
    def undo(self) -> UndoJournal | None:
        """The undo journal the kernel files changes in."""
        return self.kernel.undo

    @property
    def sandbox(self) -> ShellSandbox:
        """How shell commands are sandboxed."""
        return self.kernel.sandbox

    @property
    def debug(self) -> bool:
        """Whether failures carry tracebacks."""
        return self.kernel.debug

    def _planner(self) -> Planner:
        if self.planner is None:
            raise RuntimeError("this session runs given calls only; it has no planner")
        return self.planner

    def plan(
        self,
        request: str,
        cancel: threading.Event | None = None,
        *,
        piped: PipedText | None = None,
    ) -> Action:
        """The first action for `request` (with the text piped into it), running nothing."""
        if self.undo is not None and is_undo_request(request):
            return Action(ToolCall(self.undo.tool.name, {"count": 1}), None)
        if (fact := self._stated_fact(request)) is not None:
            self.last_notes = (_STATED,)
            return Action(fact, None, notes=(_STATED,))
        planner = self._planner()
        planner.resolver.folder = self.folder
        planner.pop_trimmed()
        action = planner.next_action(self._transcript(request, piped), cancel=cancel)
        self.last_notes = action.notes
        self.last_trimmed = planner.pop_trimmed()
        return action

    def _stated_fact(self, request: str) -> ToolCall | None:
        """The call that remembers a request stating a fact about the person ("my projects
        are in ~/code", "i prefer sizes in MB"): a fact to keep, not a task to plan."""
        if self.memory is None or "remember" not in self.registry or not states_a_fact(request):
            return None
        return ToolCall("remember", {"text": request.strip()})

    def _transcript(self, request: str, piped: PipedText | None = None) -> Transcript:
        # The turn before enters only when the request reads as building on it, so a call
        # (a declined one above all) never returns uninvited and its values never leak.
        history: tuple[Turn, ...] = ()
        if self.conversation is not None and reads_as_follow_up(request):
            history = tuple(self.conversation.turns)
        memory = self._memory_for(request, history)
        return Transcript(request, history=history, memory=memory, piped=piped)

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
        self.kernel.present = presenter(found.preferences)
        examples = tuple(
            PlanExample(e.request, e.tool, e.arguments, source=e.source) for e in found.examples
        )
        return MemoryContext(notes=found.notes, examples=examples, grounding=found.grounding)

    def _learn(self, outcome: RequestOutcome) -> None:
        """Learn from a request whose calls all ran and succeeded (not one the person
        corrected): kept at once where the person approved a call, else once the next
        request confirms it (`memory.learning`)."""
        steps = outcome.steps
        if self.memory is None or outcome.status is not Status.ANSWERED or not steps:
            return
        if self.undo is not None and any(s.call.tool == self.undo.tool.name for s in steps):
            return  # taking a change back is no lesson about the request
        if all(s.result is not None and s.result.ok and s.planned is None for s in steps):
            approved = any(s.approval is not None and s.approval.by_person for s in steps)
            calls = [s.call.to_json() for s in steps]
            self.memory.learning.ran(outcome.request, calls, approved=approved)

    def run(
        self,
        request: str,
        events: Events | None = None,
        *,
        dry_run: bool = False,
        cancel: threading.Event | None = None,
        piped: PipedText | None = None,
        stream: bool = False,
    ) -> RequestOutcome:
        """Plan and run `request` to an answer, asking the confirmer where policy says so.

        Setting `cancel` stops the model between tokens or stops waiting for a tool; the
        outcome then says cancelled. `piped` is text piped in with the request: data for the
        model, and every call planned from it needs a person's yes. With `stream`, the
        answer reaches `events.answer_text` in pieces as the model writes it, each piece
        once the answer check vouches for it (a headline at once); else whole, at the end.
        """
        events = events or SilentEvents()
        outcome = RequestOutcome(request=request)
        if self.kernel.pool is not None and not dry_run:
            self.kernel.pool.prestart()  # the worker starts while the model plans
        if self.planner is not None:
            self.planner.pop_trimmed()  # what an earlier plan left out is no news now
        try:
            self._run(outcome, events, dry_run=dry_run, cancel=cancel, piped=piped, stream=stream)
        except Cancelled:
            outcome.status = Status.CANCELLED
        trimmed = self.planner.pop_trimmed() if self.planner is not None else None
        if trimmed:  # one line, whatever the steps left out (the last left out the most)
            events.notice(trimmed)
        last = outcome.steps[-1].result if outcome.steps else None
        if outcome.status is Status.ANSWERED and last is not None and not last.ok:
            outcome.status = Status.TOOL_FAILED  # an answer after a failure is no success
        outcome.memories = self.last_memories
        if self.conversation is not None and not dry_run:
            self.conversation.add(outcome)
            for line in self.conversation.notices:
                events.notice(line)
            self.conversation.notices.clear()
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
        piped: PipedText | None = None,
        stream: bool = False,
    ) -> None:
        request = outcome.request
        self.last_notes = ()
        undo = self.undo is not None and is_undo_request(request)
        if self.memory is not None and not dry_run:
            # The request before, asked again in other words or undone, was no lesson.
            self.memory.learning.settle(request, undo=undo)
        self.kernel.present = None  # until memory says how the person likes results shown
        if undo:
            self._undo_last(outcome, events, dry_run)
            return
        if (call := self._stated_fact(request)) is not None:
            self.last_notes = (_STATED,)
            step = self.run_call(call, request=request, events=events, dry_run=dry_run)
            outcome.steps.append(step)
            if dry_run or step.result is None:
                outcome.status = Status.PLANNED if dry_run else Status.DECLINED
            elif step.result.ok:
                said = Transcript(request)
                said.steps.append((step.call, step.result))
                self._answer(outcome, said, None, events)
            return
        planner = self._planner()
        planner.resolver.folder = self.folder
        transcript = self._transcript(request, piped)
        for step_index in range(self.max_steps + 1):
            last_ok = bool(transcript.steps) and transcript.steps[-1][1].ok
            final = step_index == self.max_steps or (last_ok and not self.chain_after_success)
            live = _LiveAnswer(self, transcript, events) if stream else None
            if live is not None and final:
                live.start()  # only an answer can come: its headline shows at once
            try:
                action = planner.next_action(
                    transcript,
                    final=final,
                    cancel=cancel,
                    on_answer_text=live.feed if live is not None else None,
                )
            except TruncatedOutputError as exc:
                events.notice(str(exc))
                outcome.status = Status.TOOL_FAILED
                return
            if action.call is None:
                self._answer(outcome, transcript, action.answer, events, live)
                return
            if step_index == 0:
                self.last_notes = action.notes
                if action.candidates:  # several things fit: the person says which
                    choice = choose(action, None if dry_run else self.chooser)
                    self.last_notes += choice.notes
                    if choice.action is None:
                        outcome.answer = choice.answer
                        outcome.status = Status.PLANNED if dry_run else Status.DECLINED
                        events.answer_text(choice.answer or "")
                        return
                    action = choice.action
            assert action.call is not None
            call = action.call
            if transcript.steps and transcript.steps[-1][0] == call:
                # Small models tend to repeat a call after its result; answer instead.
                live = _LiveAnswer(self, transcript, events) if stream else None
                action = planner.next_action(
                    transcript,
                    final=True,
                    cancel=cancel,
                    on_answer_text=live.feed if live is not None else None,
                )
                self._answer(outcome, transcript, action.answer, events, live)
                return
            note = (
                memory_line(self.last_memories) if step_index == 0 and self.last_memories else None
            )
            step = self.run_call(
                call,
                request=request,
                events=events,
                dry_run=dry_run,
                cancel=cancel,
                note=note,
                after_result=bool(transcript.steps),
                after_piped=piped is not None,
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

    def _undo_last(self, outcome: RequestOutcome, events: Events, dry_run: bool) -> None:
        """ "oops, undo that": the journal's newest change reversed, never a new plan."""
        assert self.undo is not None
        call = ToolCall(self.undo.tool.name, {"count": 1})
        step = self.run_call(
            call, request=outcome.request, events=events, dry_run=dry_run, tool=self.undo.tool
        )
        outcome.steps.append(step)
        self.last_notes = ("the request takes back the last change: the undo journal, not a plan",)
        if dry_run or step.result is None:
            outcome.status = Status.PLANNED if dry_run else Status.DECLINED
        elif step.result.ok:
            outcome.answer = undo_answer(step.result.data)
            events.answer_text(outcome.answer)
            if self.memory is not None and isinstance(step.result.data, dict):
                self.memory.learning.undone(step.result.data.get("results", []))

    def answer_gate(
        self, transcript: Transcript, show: Callable[[str], None] | None = None
    ) -> AnswerGate | None:
        """The check the model's answer to `transcript` goes through, sentence by sentence;
        None where the answer is judged only whole (a short reply with no tool used)."""
        ran = [(call, result.data) for call, result in transcript.steps if result.ok]
        if transcript.piped is not None and not transcript.piped.binary and not ran:
            # An answer about the piped text: held to that text; a sentence with no value
            # in it (an explanation) stands when nothing in it contradicts the text.
            piped = [transcript.piped.text]
            return AnswerGate.grounded(piped, transcript.request, require_claim=False, show=show)
        if ran:  # the last call's headline, filled from its result
            tools = {
                call.tool: self.registry.get(call.tool)
                for call, _ in ran
                if call.tool in self.registry
            }
            return result_gate(ran, tools, transcript.request, show)
        if not transcript.steps and knowledge_question(transcript.request):
            return knowledge_gate(show)
        return None

    def _answer(
        self,
        outcome: RequestOutcome,
        transcript: Transcript,
        text: str | None,
        events: Events,
        live: _LiveAnswer | None = None,
    ) -> None:
        """The answer as shown: held to what the results say, or an honest limit.

        After tools ran, only an answer whose claims the results confirm is shown, else a
        summary built from the result; with no tool used, a question of general knowledge
        gets the model's answer marked as such, a short reply without claims (a greeting)
        is kept, anything else is one sentence of what the tools can do. A streamed answer
        has already shown what its check vouched for; only what stands in for it follows.
        """
        gate = live.gate if live is not None and live.gate is not None else None
        if gate is None:
            gate = self.answer_gate(transcript)
        if gate is not None and not gate.fed:
            gate.feed(text or "")
        checked: str | None = None
        if gate is not None:
            gate.close()
            checked = gate.answer
        shown = checked is not None and gate is not None and gate.show is not None
        ran = [(call, result.data) for call, result in transcript.steps if result.ok]
        answer: str | None = checked
        if answer is None:
            answer = self._stand_in(transcript, text, ran)
        outcome.answer = answer
        if answer and not shown:
            events.answer_text(answer)

    def _stand_in(
        self, transcript: Transcript, text: str | None, ran: list[tuple[ToolCall, Any]]
    ) -> str | None:
        """What is said when the model's answer is not checked sentence by sentence, or
        nothing of it passed: a summary, a short claim-free reply, an honest limit."""
        if transcript.piped is not None and not transcript.piped.binary and not ran:
            return (
                "I could not write an answer that the piped text bears out; "
                "ask about a narrower part of it."
            )
        if ran:
            return summarize([data for _, data in ran], transcript.request)
        if transcript.steps:  # every call failed; its error is shown already
            return claim_free_reply(text)
        # The closest tools are named only where the calibrated scores call them close.
        selection = transcript.selection
        names = selection.closest if selection is not None else ()
        closest: list[Tool] = [self.registry.get(n) for n in names if n in self.registry]
        return claim_free_reply(text) or honest_limits(closest)

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
        after_piped: bool = False,
    ) -> Step:
        """One call through the kernel (see `CallKernel.call`); an edited call that ran well
        is remembered as a correction."""
        step = self.kernel.call(
            call,
            request=request,
            events=events,
            dry_run=dry_run,
            cancel=cancel,
            tool=tool,
            note=note,
            planned=planned,
            after_result=after_result,
            after_piped=after_piped,
        )
        edited = planned is not None and planned != call
        approval = step.approval
        if approval is not None and approval.arguments not in (None, call.arguments):
            edited = approval.by_person  # the confirmer's edit: a person's, or none
        if (
            edited
            and step.planned is not None
            and step.result is not None
            and step.result.ok
            and self.memory
        ):
            self.memory.record_correction(request, step.planned.to_json(), step.call.to_json())
        return step


class _LiveAnswer:
    """The answer of one step as it streams: its check made at the first piece (or at
    `start`, where only an answer can come), showing through the request's events."""

    def __init__(self, session: Session, transcript: Transcript, events: Events) -> None:
        self._session = session
        self._transcript = transcript
        self._events = events
        self.gate: AnswerGate | None = None
        self._made = False

    def _make(self) -> AnswerGate | None:
        if not self._made:
            self._made = True
            self.gate = self._session.answer_gate(self._transcript, self._events.answer_text)
        return self.gate

    def start(self) -> None:
        """Show what needs no model (the headline) now."""
        gate = self._make()
        if gate is not None and gate.head is not None:
            gate.start()

    def feed(self, piece: str) -> None:
        """A piece of the model's answer."""
        gate = self._make()
        if gate is not None:
            gate.feed(piece)


def presenter(preferences: dict[str, str]) -> Callable[[ToolResult], ToolResult] | None:
    """How results are restated for the person's stated preferences (sizes in MB)."""
    unit = size_unit_named(preferences.get("size_unit", ""))
    if unit is None:
        return None
    return lambda result: dataclasses.replace(result, data=restate_sizes(result.data, unit))
