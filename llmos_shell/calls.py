"""The messages that flow through the pipeline: planned calls, decisions, results."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from typing import Any, Literal


class Risk(str, enum.Enum):
    """What a tool call can do to the machine, from harmless to dangerous."""

    READ_ONLY = "read-only"
    WRITE = "write"
    NETWORK = "network"
    DESTRUCTIVE = "destructive"
    PRIVILEGED = "privileged"

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


SandboxMode = Literal["auto", "required", "off"]  # the `sandbox` setting
SANDBOX_MODES: tuple[str, ...] = typing.get_args(SandboxMode)


@dataclass(frozen=True)
class ExecutionContext:
    """What the executor tells a tool about the call it runs; the model never sets it.

    A tool asks for it with a parameter typed `ExecutionContext`, which is left out of the
    tool's schema. `network`: the person approved this call's use of the network.
    `sandbox`: the sandbox setting (auto, required or off). `read_only`: paths a sandboxed
    command may never change besides llmos's own (the plugin folder). `cancel`: set when the person
    cancels; only a tool running in the shell's own process sees it (a tool in a worker
    process is stopped instead).
    """

    network: bool = False
    sandbox: SandboxMode = "auto"
    read_only: tuple[str, ...] = ()
    cancel: Any = field(default=None, compare=False, repr=False)  # a threading.Event

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
