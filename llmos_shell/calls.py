"""The messages that flow through the pipeline: planned calls, decisions, results, and
what one request came to (each call's approval and result, and how it ended)."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llmos_shell.errors import ExitStatus

if TYPE_CHECKING:
    from llmos_shell.memory.records import MemoryRecord


class Risk(str, enum.Enum):
    """What a tool call can do to the machine, from harmless to dangerous.

    UNKNOWN is the top: what the call does cannot be known before it runs (a program named
    at run time, code given to an interpreter, code fetched from the network). No `--yes`
    flag and no automation's approved risk ever covers it.
    """

    READ_ONLY = "read-only"
    WRITE = "write"
    NETWORK = "network"
    DESTRUCTIVE = "destructive"
    PRIVILEGED = "privileged"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Order used to combine risks: the larger wins."""
        return _RISK_RANK[self]


_RISK_RANK = {
    Risk.READ_ONLY: 0,
    Risk.WRITE: 1,
    Risk.NETWORK: 2,
    Risk.DESTRUCTIVE: 3,
    Risk.PRIVILEGED: 4,
    Risk.UNKNOWN: 5,
}


@dataclass(frozen=True)
class ToolCall:
    """One call the planner wants to make: a registered tool name and its arguments."""

    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The call as `{"tool": NAME, "arguments": {...}}`."""
        return {"tool": self.tool, "arguments": dict(self.arguments)}


class Verdict(str, enum.Enum):
    """What the policy says about a call before it runs."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on one call, with the risk it saw and why.

    `reason` is the one line shown beside a call; `reasons` holds each finding behind it,
    `sensitive` the secret paths it touches, `programs` the programs a shell command runs,
    and `parsed` says whether that command could be read at all.
    """

    verdict: Verdict
    risk: Risk
    reason: str
    reasons: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    parsed: bool = True
    footprint: str = ""  # "this moves the whole folder Downloads: 8 items, 330 MB"


SandboxMode = Literal["auto", "required", "off"]  # the `sandbox` setting
SANDBOX_MODES: tuple[str, ...] = typing.get_args(SandboxMode)


@dataclass(frozen=True)
class ToolServices:
    """What the running shell lends a tool that runs in its process, instead of globals.

    `memory`: opens the person's memory (it says why not when memory is off). `drafts`: where
    the schedule tool leaves proposed automations for the front end to ask about. `config`:
    the settings in force (the inbox's store is found from it). `paths`: every file location.
    `now`: the clock, in the person's time zone (config.clock computes it). A tool in a worker process gets
    none of these: they live in the shell's process.
    """

    memory: Any = None  # Callable[[], Memory]: raises MemoryRefused when memory is off
    drafts: Any = None  # a deque of proposed automations, newest last
    config: Any = None  # the LoadedConfig in force
    paths: Any = None
    now: Any = None  # Callable[[], datetime]: now, in the person's time zone


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed command may use: memory, more processes, file size, $TMPDIR (MiB)."""

    memory_mb: int = 1024
    processes: int = 512
    file_mb: int = 1024
    tmp_mb: int = 512


@dataclass(frozen=True)
class ExecutionContext:
    """What the executor tells a tool about the call it runs; the model never sets it.

    A tool asks for it with a parameter typed `ExecutionContext`, which is left out of the
    tool's schema. `network`: the person approved this call's use of the network.
    `sandbox`: the sandbox setting (auto, required or off). `read_only`: paths a sandboxed
    command may never change besides llmos's own (the plugin folder). `cancel`: set when the person
    cancels; only a tool running in the shell's own process sees it (a tool in a worker
    process is stopped instead). `undo_call`: the undo journal file and the id of the call
    that the tool's file changes are filed under, or None. `folder`: the folder the call runs
    in (an automation's, where it was created); None means the shell's current folder.
    `services`: what the shell lends a tool in its own process (memory, drafts, inbox, clock).
    `may_write`: False when the call was judged read-only (a sandboxed command then writes
    nothing but its $TMPDIR). `limits`: what a sandboxed command may use.
    """

    network: bool = False
    sandbox: SandboxMode = "auto"
    read_only: tuple[str, ...] = ()
    cancel: Any = field(default=None, compare=False, repr=False)  # a threading.Event
    undo_call: tuple[str, str] | None = None
    folder: str | None = None
    services: ToolServices | None = field(default=None, compare=False, repr=False)
    may_write: bool = True
    limits: SandboxLimits = field(default_factory=SandboxLimits)

    @property
    def cancelled(self) -> bool:
        """True once the person cancelled the call."""
        return self.cancel is not None and self.cancel.is_set()


@dataclass(frozen=True)
class ToolResult:
    """The outcome of running one call: data for success, a sentence for failure."""

    call: ToolCall
    ok: bool
    data: Any = None
    error: str | None = None
    duration_s: float = 0.0
    cancelled: bool = False  # stopped by the person (Ctrl-C) or a shutdown, not failed

    def for_model(self, limit: int) -> str:
        """The result as text for the model, cut to `limit` characters."""
        import json

        if not self.ok:
            text = f"error: {self.error}"
        elif isinstance(self.data, str):
            text = self.data
        else:
            text = json.dumps(self.data, default=str, ensure_ascii=False)
        if len(text) > limit:
            text = text[:limit] + f"... [{len(text) - limit} more characters not shown]"
        return text


class Approver(str, enum.Enum):
    """Who gave (or withheld) the yes a call needed."""

    POLICY = "policy"  # no yes was needed, or the policy refused
    PERSON = "person"  # someone at the terminal, or a client's person through elicitation
    FLAG = "flag"  # --yes or --yes-destructive, given in advance
    RULE = "rule"  # a permission rule the person stored
    AUTOMATION = "automation"  # what the person approved when creating an automation
    NOBODY = "nobody"  # nobody was there to ask


# How each approver's text begins, for answers built before the approver was named.
_APPROVER_PREFIXES = (
    ("person", Approver.PERSON),
    ("--yes", Approver.FLAG),
    ("rule", Approver.RULE),
    ("automation", Approver.AUTOMATION),
    ("no one", Approver.NOBODY),
)


@dataclass(frozen=True)
class Approval:
    """A confirmer's answer: run it (maybe with edited arguments) or not, and who said so.

    `by` is the sentence shown and audited; `approver` says which kind of approver that is.
    `replacement` holds the calls to run instead, chosen by the person as a safer equivalent
    (the trash instead of `rm`); each is judged by the policy again before it runs.
    """

    approved: bool
    by: str
    arguments: dict[str, Any] | None = None
    replacement: tuple[ToolCall, ...] = ()
    approver: Approver | None = None

    def __post_init__(self) -> None:
        if self.approver is None:
            found = next(
                (who for prefix, who in _APPROVER_PREFIXES if self.by.startswith(prefix)),
                Approver.POLICY,
            )
            object.__setattr__(self, "approver", found)

    @property
    def by_person(self) -> bool:
        """True when a person said this yes or no."""
        return self.approver is Approver.PERSON


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


class TurnOutcome(str, enum.Enum):
    """How an earlier request of a conversation went, as follow-ups need to know it."""

    OK = "ok"
    FAILED = "failed"
    DECLINED = "declined"  # the person (or nobody there) said no
    ANSWERED = "answered"  # no call: the model answered


@dataclass(frozen=True)
class Step:
    """One planned call with its decision and, if it ran, its result."""

    call: ToolCall
    decision: Decision
    approval: Approval | None
    result: ToolResult | None
    planned: ToolCall | None = None  # the call as planned, when the person edited it


@dataclass
class RequestOutcome:
    """Everything that happened for one request."""

    request: str
    steps: list[Step] = field(default_factory=list)
    answer: str | None = None
    status: Status = Status.ANSWERED
    memories: tuple[MemoryRecord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form for `--json`."""
        return {
            "request": self.request,
            "status": self.status.value,
            "answer": self.answer,
            "memories": memories_json(self.memories),
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


def memories_json(memories: tuple[MemoryRecord, ...]) -> list[dict[str, str]]:
    """The memories that shaped a plan, as `plan --json` and `--json` show them."""
    return [{"id": m.id, "kind": m.kind, "text": m.text} for m in memories]


def memory_line(memories: tuple[MemoryRecord, ...]) -> str:
    """The dim line under a plan that memory shaped."""
    shown = "; ".join(f"{m.kind} {m.id}: {m.short(50)}" for m in memories[:3])
    more = f" and {len(memories) - 3} more" if len(memories) > 3 else ""
    return f"from memory: {shown}{more} (/why for more)"
