"""The messages that flow through the pipeline: planned calls, decisions, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


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
