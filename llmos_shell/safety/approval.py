"""The one approval rule: which calls may run without a person saying yes now.

A `Ceiling` is what was approved in advance: by the `--yes` flags, by the person when they
created an automation, or nothing at all. `unattended` is the one function that compares a
judged call with a ceiling; the flags, automations, their creation, their stored specs and
the confirmer for when nobody watches all ask it. Pure, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmos_shell.calls import Approver, Decision, Risk, Verdict
from llmos_shell.safety.shell.targets import PERSISTENCE

# Risks no ceiling reaches: what they do needs a person each time.
NEVER_IN_ADVANCE = frozenset({Risk.PRIVILEGED, Risk.UNKNOWN})


@dataclass(frozen=True)
class Ceiling:
    """The highest risk approved in advance, and by whom; READ_ONLY approves nothing more."""

    risk: Risk = Risk.READ_ONLY
    by: str = "policy"
    approver: Approver = Approver.POLICY

    def __post_init__(self) -> None:
        if self.risk in NEVER_IN_ADVANCE:
            raise ValueError(f"{self.risk.value} is never approved in advance")

    @classmethod
    def from_flags(cls, *, yes: bool = False, yes_destructive: bool = False) -> Ceiling:
        """The ceiling the command-line flags set: --yes writes and network, --yes-destructive
        destructive calls too."""
        if yes_destructive:
            return cls(Risk.DESTRUCTIVE, "--yes-destructive flag", Approver.FLAG)
        if yes:
            return cls(Risk.NETWORK, "--yes flag", Approver.FLAG)
        return cls()

    @classmethod
    def automation(cls, risk: Risk, by: str) -> Ceiling:
        """The ceiling an automation runs under: what the person approved when creating it."""
        return cls(risk, by, Approver.AUTOMATION)

    def admits(self, risk: Risk) -> bool:
        """Whether a call of `risk` (with nothing else against it) is within this ceiling."""
        return risk not in NEVER_IN_ADVANCE and risk.rank <= self.risk.rank

    def covers(self, decision: Decision) -> bool:
        """Whether this ceiling approves a call the policy asks about, by its risk alone.

        A read-only call that still asks was held back by something other than its risk
        (a guard's own question), which no ceiling answers.
        """
        return decision.risk is not Risk.READ_ONLY and self.admits(decision.risk)


def approvable_in_advance(risk: Risk) -> bool:
    """Whether any ceiling could cover a call of this risk (an automation may store it)."""
    return risk not in NEVER_IN_ADVANCE


def person_only(decision: Decision, *, after_result: bool = False) -> str | None:
    """Why only a person, asked now, may approve this call; None when a ceiling may.

    Secrets, a command that could not be read, a risk no ceiling reaches, a write of a file
    that runs code later (persistence, through any program or tool), and a call the model
    planned after reading a result (text in a result never approves a call).
    """
    if decision.sensitive:
        return f"it touches secrets ({', '.join(decision.sensitive)})"
    if not decision.parsed:
        return "its shell command cannot be read, so what it does cannot be judged"
    if decision.risk is Risk.UNKNOWN:
        return "what it does cannot be known before it runs"
    if decision.risk in NEVER_IN_ADVANCE:
        return f"it is {decision.risk.value}"
    if any(reason.startswith(PERSISTENCE) for reason in decision.reasons):
        return "it writes a file that runs code later (a start-up file, a hook, a plugin)"
    if after_result:
        return "it was planned after reading a tool's result"
    return None


def unattended(decision: Decision, ceiling: Ceiling, *, after_result: bool = False) -> bool | None:
    """The one rule: True runs it without asking, False refuses it, None asks a person.

    Refused: what the policy denies. Run: what the policy allows (read-only), and what the
    ceiling covers unless only a person may approve it (`person_only`). Everything else asks.
    """
    if decision.verdict is Verdict.DENY:
        return False
    if decision.verdict is Verdict.ALLOW:
        return True
    if person_only(decision, after_result=after_result) is not None:
        return None
    return True if ceiling.covers(decision) else None


def beyond(decision: Decision, ceiling: Ceiling, *, after_result: bool = False) -> str | None:
    """Why a call may not run under `ceiling` with nobody asked, in words; None if it may."""
    verdict = unattended(decision, ceiling, after_result=after_result)
    if verdict is True:
        return None
    if verdict is False:
        return f"the policy refuses it ({decision.reason})"
    only = person_only(decision, after_result=after_result)
    if only is not None:
        return f"{only}, which only a person may approve"
    return f"it is {decision.risk.value}, above the {ceiling.risk.value} approved in advance"
