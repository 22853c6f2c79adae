"""The policy gate: before any tool call runs, decide allow, ask or deny.

Pure but for one look at the disk: whether a write tool's call would replace a file that holds
content (registry.overwrites), which makes it destructive, as the shell's `>` is.

Read-only calls are allowed; anything else, and any read of a secret (an SSH key, a .env
file), is asked about. What no plan should ever do is denied, whichever tool proposes it:
deleting, moving or overwriting the home folder, `/`, a system folder or the working tree,
wiping a disk, a fork bomb (the person can still type a command with `!cmd`). A shell tool's
risk comes from its command, read by `safety.shell`, never from the tool's declared risk.
Which calls may run without a person asked now is decided by the one rule in `approval`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.registry.overwrites import call_risk
from llmos_shell.safety.approval import Ceiling
from llmos_shell.safety.shell import (
    PERSISTENCE,
    ShellAnalysis,
    analyse,
    critical_dir,
    describe_dir,
    is_catastrophic,
    persistence_kind,
    sensitive_kind,
)

if TYPE_CHECKING:
    from llmos_shell.registry import Tool

# Why a call the model planned after reading a tool's result waits for a person: the result
# (a file, a command's output, a name in a listing) may carry instructions, and nothing in it
# may stand in for the person's yes.
AFTER_RESULT_REASON = (
    "it was planned after reading a tool's result, and text in a result never approves a call"
)
# The same for a call planned from text piped into the request (a log, a listing, a diff).
PIPED_INPUT_REASON = (
    "it was planned from text piped into the request, and piped text never approves a call"
)

_RISK_PHRASES = {
    Risk.READ_ONLY: "only reads",
    Risk.WRITE: "changes files or settings",
    Risk.NETWORK: "uses the network",
    Risk.DESTRUCTIVE: "can delete or overwrite data",
    Risk.PRIVILEGED: "needs administrator rights",
    Risk.UNKNOWN: "does what cannot be known before it runs",
}
_MAX_SHOWN = 200  # characters of one argument shown by `explain`


@dataclass(frozen=True)
class PolicyOptions:
    """What the person approved in advance on the command line (`--yes`, `--yes-destructive`)."""

    yes_writes: bool = False
    yes_destructive: bool = False

    @property
    def ceiling(self) -> Ceiling:
        """What these flags approve in advance, as the one approval rule reads it."""
        return Ceiling.from_flags(yes=self.yes_writes, yes_destructive=self.yes_destructive)


def decide(call: ToolCall, tool: Tool, folder: str = ".", *, cwd: str | None = None) -> Decision:
    """The verdict on one call: deny catastrophes, ask for anything not plainly read-only.

    `folder` is what the folder a shell command runs in is (`wall.folder_word`): `.` for a
    working tree, `~` for the home folder, or the system folder it is; `rm -rf *` there is
    judged against it. `cwd` is where the call runs (None: the current folder), against which
    a write tool's paths are looked up (a write over existing content is destructive).
    """
    analysis: ShellAnalysis | None = None
    reasons: list[str] = []
    sensitive: list[str] = []
    command_arg = tool.shell_command_arg
    if command_arg is not None:
        command = call.arguments.get(command_arg)
        if not isinstance(command, str) or not command.strip():
            reason = f"the {command_arg} argument holds no shell command"
            return Decision(Verdict.ASK, Risk.WRITE, reason, (reason,))
        analysis = analyse(command)
        catastrophe = is_catastrophic(analysis, folder)
        if catastrophe is not None:
            reason = (
                f"refused: {catastrophe}. If you really mean it, run it yourself by typing "
                f"!{command}"
            )
            return Decision(
                Verdict.DENY,
                analysis.risk,
                reason,
                (reason,),
                analysis.sensitive_paths,
                analysis.programs,
                analysis.parsed_ok,
            )
        risk = analysis.risk
        reasons += analysis.reasons
        sensitive += analysis.sensitive_paths
    else:
        catastrophe = _tool_catastrophe(call, tool)
        if catastrophe is not None:
            reason = (
                f"refused: {catastrophe}; no plan may delete, move or overwrite it. If you "
                "really mean it, do it yourself outside llmos"
            )
            return Decision(Verdict.DENY, tool.risk, reason, (reason,))
        risk = tool.risk
        raised = call_risk(tool, call.arguments, cwd)
        if raised is not None:
            risk = raised.risk
            reasons.append(f"{tool.name} {_RISK_PHRASES[risk]}: {raised.reason}")
        elif risk is not Risk.READ_ONLY:
            undo = "" if tool.reversible else " and cannot be undone"
            reasons.append(f"{tool.name} {_RISK_PHRASES[risk]}{undo}")
        if risk is not Risk.READ_ONLY:
            for text in _strings(call.arguments):  # a start-up file, through any tool
                kind = persistence_kind(text) if _looks_like_path(text) else None
                if kind is not None:
                    reasons.insert(0, f"{PERSISTENCE}: {tool.name} changes {text}, {kind}")
                    if risk.rank < Risk.DESTRUCTIVE.rank:
                        risk = Risk.DESTRUCTIVE
    sensitive += [
        text
        for text in _strings(call.arguments, skip=command_arg)
        if _looks_like_path(text) and sensitive_kind(text)
    ]
    sensitive = list(dict.fromkeys(sensitive))
    programs = analysis.programs if analysis is not None else ()
    parsed = analysis.parsed_ok if analysis is not None else True
    verb = "reads" if risk is Risk.READ_ONLY else "touches"
    reasons += [f"{verb} {sensitive_kind(path)} ({path})" for path in sensitive]
    if risk is Risk.READ_ONLY and not sensitive:
        reason = _read_only_reason(tool, analysis)
        return Decision(Verdict.ALLOW, risk, reason, (reason,), programs=programs, parsed=parsed)
    return Decision(
        Verdict.ASK, risk, "; ".join(reasons), tuple(reasons), tuple(sensitive), programs, parsed
    )


def planned_after_result(decision: Decision, why: str = AFTER_RESULT_REASON) -> Decision:
    """The decision on a call the model planned after reading a result (or piped text),
    saying why it needs a person's yes (the session then asks one, whatever was approved in
    advance)."""
    if decision.verdict is not Verdict.ASK:
        return decision
    reason = f"{decision.reason}; {why}" if decision.reason else why
    return replace(decision, reason=reason, reasons=(*decision.reasons, why))


def explain(call: ToolCall, tool: Tool, decision: Decision) -> str:
    """A few plain lines on what the call does and why the policy judged it so."""
    lines = [f"{tool.name}: {tool.description}"]
    if call.arguments:
        lines.append("Arguments:")
        lines += [f"  {name} = {_shown(value)}" for name, value in call.arguments.items()]
    else:
        lines.append("Arguments: none")
    if decision.programs:
        lines.append(f"Runs: {', '.join(decision.programs)}")
    if decision.verdict is Verdict.DENY:
        reversible = False  # a catastrophe, or a call nothing is known about
    elif tool.shell_command_arg is not None:
        reversible = False  # llmos keeps no record that would undo what a shell command did
    else:
        reversible = tool.reversible and decision.risk is not Risk.UNKNOWN
    if decision.risk is Risk.READ_ONLY and decision.verdict is not Verdict.DENY:
        undo = "it changes nothing"
    else:
        undo = "it can be undone" if reversible else "it cannot be undone"
    lines.append(f"Risk: {decision.risk.value} ({_RISK_PHRASES[decision.risk]}); {undo}")
    reasons = decision.reasons
    if len(reasons) > 1:
        lines.append("Why:")
        lines += [f"  - {reason}" for reason in reasons]
    else:
        lines.append(f"Why: {decision.reason}")
    lines.append(f"Verdict: {_VERDICT_WORDS[decision.verdict]}")
    return "\n".join(lines)


_VERDICT_WORDS = {
    Verdict.ALLOW: "allowed without asking",
    Verdict.ASK: "needs your yes before it runs",
    Verdict.DENY: "refused",
}


def _tool_catastrophe(call: ToolCall, tool: Tool) -> str | None:
    """Why a call of a tool that is not a shell would wipe out a folder no plan may touch.

    Its path arguments are its string arguments that look like paths, in parameter order. A
    destructive (or riskier) tool may touch none of them; a write tool only acts on its first
    (`move_path`'s source, `write_file`'s path): a later one is where things go into.
    """
    if tool.risk is Risk.READ_ONLY:
        return None
    fields = list(tool.args_model.model_fields)
    order = [*fields, *(name for name in call.arguments if name not in fields)]
    paths = [
        text
        for name in order
        if name in call.arguments
        for text in _strings(call.arguments[name])
        if _looks_like_path(text)
    ]
    if tool.risk is Risk.WRITE:
        paths = paths[:1]
    for text in paths:
        critical = critical_dir(text, working_tree=tool.risk is not Risk.WRITE)
        if critical is not None:
            return f"{tool.name} would act on {text}, {describe_dir(critical)}"
    return None


def _read_only_reason(tool: Tool, analysis: ShellAnalysis | None) -> str:
    if analysis is not None:
        programs = analysis.programs
        verb = "only reads" if len(programs) == 1 else "only read"
        return f"{', '.join(programs)} {verb}" if programs else "the command does nothing"
    return f"{tool.name} only reads"


def _strings(value: Any, skip: str | None = None, depth: int = 0) -> Iterator[str]:
    """Every string inside a tool's arguments (nested lists and mappings included)."""
    if depth > 8:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if depth == 0 and key == skip:
                continue
            yield from _strings(item, depth=depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item, depth=depth + 1)


def _looks_like_path(text: str) -> bool:
    if not text or len(text) > 4096 or "\n" in text or "\0" in text:
        return False
    return "/" in text or text.startswith(("~", ".")) or not any(c.isspace() for c in text)


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    if len(text) > _MAX_SHOWN:
        return text[:_MAX_SHOWN] + f"... ({len(text) - _MAX_SHOWN} more characters)"
    return text
