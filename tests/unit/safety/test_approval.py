"""The one approval rule, over every combination that decides it: the policy's verdict, the
call's risk, a secret, a command that could not be read, a call planned after a result, and
the ceiling (nothing, --yes, --yes-destructive, an automation's approved risk)."""

from __future__ import annotations

import itertools

import pytest

from llmos_shell.calls import Decision, Risk, Verdict
from llmos_shell.safety.approval import Ceiling, approvable_in_advance, beyond, unattended

CEILINGS = {
    "nothing": Ceiling(),
    "--yes": Ceiling.from_flags(yes=True),
    "--yes-destructive": Ceiling.from_flags(yes_destructive=True),
    "automation write": Ceiling.automation(Risk.WRITE, "automation 1"),
    "automation network": Ceiling.automation(Risk.NETWORK, "automation 2"),
    "automation destructive": Ceiling.automation(Risk.DESTRUCTIVE, "automation 3"),
}
# What each ceiling approves by risk, written out rather than computed.
APPROVES = {
    "nothing": set(),
    "--yes": {Risk.WRITE, Risk.NETWORK},
    "--yes-destructive": {Risk.WRITE, Risk.NETWORK, Risk.DESTRUCTIVE},
    "automation write": {Risk.WRITE},
    "automation network": {Risk.WRITE, Risk.NETWORK},
    "automation destructive": {Risk.WRITE, Risk.NETWORK, Risk.DESTRUCTIVE},
}


def expected(
    verdict: Verdict, risk: Risk, secret: bool, parsed: bool, after: bool, ceiling: str
) -> bool | None:
    if verdict is Verdict.DENY:
        return False
    if verdict is Verdict.ALLOW:
        return True
    if secret or not parsed or after:
        return None
    return True if risk in APPROVES[ceiling] else None


CASES = list(
    itertools.product(
        [Verdict.ALLOW, Verdict.ASK, Verdict.DENY],
        list(Risk),
        [False, True],
        [True, False],
        [False, True],
        list(CEILINGS),
    )
)


@pytest.mark.parametrize(("verdict", "risk", "secret", "parsed", "after", "ceiling"), CASES)
def test_the_one_rule(
    verdict: Verdict, risk: Risk, secret: bool, parsed: bool, after: bool, ceiling: str
) -> None:
    decision = Decision(
        verdict, risk, "why", sensitive=("~/.ssh/id_rsa",) if secret else (), parsed=parsed
    )
    got = unattended(decision, CEILINGS[ceiling], after_result=after)
    assert got is expected(verdict, risk, secret, parsed, after, ceiling)
    # `beyond` gives a reason exactly when the call may not run unasked.
    assert (beyond(decision, CEILINGS[ceiling], after_result=after) is None) is (got is True)


def test_the_reasons_name_what_stands_in_the_way() -> None:
    ask = Decision(Verdict.ASK, Risk.DESTRUCTIVE, "rm deletes x")
    assert beyond(ask, Ceiling.from_flags(yes=True)) == (
        "it is destructive, above the network approved in advance"
    )
    secret = Decision(Verdict.ASK, Risk.WRITE, "w", sensitive=("~/.aws/credentials",))
    assert "touches secrets (~/.aws/credentials)" in str(
        beyond(secret, Ceiling.from_flags(yes=True))
    )
    assert "planned after reading a tool's result" in str(
        beyond(
            Decision(Verdict.ASK, Risk.WRITE, "w"), Ceiling.from_flags(yes=True), after_result=True
        )
    )


@pytest.mark.parametrize("risk", list(Risk))
def test_what_an_automation_may_store(risk: Risk) -> None:
    assert approvable_in_advance(risk) is (risk not in (Risk.PRIVILEGED, Risk.UNKNOWN))
