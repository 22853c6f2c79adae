"""The person's standing permissions: `[a]lways` at a `Run it?` prompt, `llmos rules`.

A rule names a tool and the shape of its arguments, and the highest risk it approves (write or
network, never more). For a shell command the shape is, per simple command, the program and
its option prefix: its leading options (and, for a program with sub-commands, the plain words
among them), as the bash reader parsed them; a later command matches when it starts with the same words and adds no
option after them (`cp a b` covers `cp x y`, not `cp -f x y`). For another tool, its path
arguments must lie in the same folder, its choices and switches must be equal, and the rest
is free. The policy judges every call again: a rule approves only what is within its risk,
and never a call that touches secrets, could not be parsed, is unknown, destructive,
privileged or refused, nor one planned after reading a tool's result.

Rules live in `rules.json` in the config folder; `RuleStore` reads it again when it changes.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Approver, Decision, Risk, ToolCall, Verdict
from llmos_shell.errors import LlmosError
from llmos_shell.registry.kinds import Kind
from llmos_shell.registry.overwrites import resolve
from llmos_shell.safety.approval import Ceiling, unattended
from llmos_shell.safety.policy import AFTER_RESULT_REASON
from llmos_shell.safety.shell import SimpleCommand, analyse
from llmos_shell.safety.shell.subcommands import SUBCOMMAND_RULES

if TYPE_CHECKING:
    from llmos_shell.registry import Tool

RULES_FILE = "rules.json"
APPROVABLE = (Risk.WRITE, Risk.NETWORK)  # what a rule may approve at most
_PLAIN_WORD = re.compile(r"^(?:--?[A-Za-z0-9][A-Za-z0-9-]*|[a-z][a-z0-9-]*)$")
_EXACT_KINDS = (Kind.CHOICE, Kind.FLAG)


class RulesError(LlmosError):
    """The rules file cannot be read or written."""


@dataclass(frozen=True)
class Rule:
    """One standing permission: a tool, an argument shape, the highest risk it approves."""

    tool: str
    risk: Risk
    commands: tuple[tuple[str, ...], ...] = ()  # shell: each simple command's prefix
    via: tuple[tuple[str, ...], ...] = ()  # shell: the wrappers of each (`xargs`, `env`)
    redirects: bool = False  # shell: the command wrote through a redirect
    arguments: Mapping[str, Any] = field(default_factory=dict)  # other tools: name -> shape
    example: str = ""  # the call it was made from, as the person saw it
    created: float = 0.0

    def describe(self) -> str:
        """One line: what the rule approves."""
        if self.commands:
            shown = " | ".join(" ".join(prefix) + " ..." for prefix in self.commands)
            more = " (with a redirect to a file)" if self.redirects else ""
            what = f"{self.tool}: {shown}{more}"
        else:
            parts = []
            for name, shape in self.arguments.items():
                if "folder" in shape:
                    parts.append(f"{name} in {shape['folder']}")
                elif "value" in shape:
                    parts.append(f"{name}={json.dumps(shape['value'])}")
            what = f"{self.tool}({', '.join(parts)})"
        return f"{what}, up to {self.risk.value}"

    def to_json(self) -> dict[str, Any]:
        """The rule as stored in rules.json."""
        return {
            "tool": self.tool,
            "risk": self.risk.value,
            "commands": [list(c) for c in self.commands],
            "via": [list(v) for v in self.via],
            "redirects": self.redirects,
            "arguments": dict(self.arguments),
            "example": self.example,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rule:
        """A rule read back from rules.json (raises KeyError/ValueError on a bad one)."""
        return cls(
            tool=str(data["tool"]),
            risk=Risk(data["risk"]),
            commands=tuple(tuple(str(w) for w in c) for c in data.get("commands", ())),
            via=tuple(tuple(str(w) for w in v) for v in data.get("via", ())),
            redirects=bool(data.get("redirects", False)),
            arguments=dict(data.get("arguments", {})),
            example=str(data.get("example", "")),
            created=float(data.get("created", 0.0)),
        )


def why_no_rule(decision: Decision) -> str | None:
    """Why no rule may be made from (or approve) a call so judged; None when one may."""
    if decision.verdict is Verdict.DENY:
        return "the policy refuses it"
    if AFTER_RESULT_REASON in decision.reasons:
        return "it was planned after reading a tool's result"
    if decision.sensitive:
        return "it touches secrets"
    if not decision.parsed:
        return "its command could not be read"
    if decision.risk not in APPROVABLE:
        return f"it is {decision.risk.value}; a rule approves writes and network use only"
    return None


def rule_for(call: ToolCall, tool: Tool, decision: Decision, folder: str | None = None) -> Rule:
    """The rule `[a]lways` makes from a call; raises RulesError saying why none may be made."""
    reason = why_no_rule(decision)
    if reason is not None:
        raise RulesError(f"no rule can approve this call: {reason}")
    example = json.dumps(call.arguments, ensure_ascii=False)
    if tool.shell_command_arg is not None:
        command = str(call.arguments.get(tool.shell_command_arg, ""))
        analysis = analyse(command)
        if not analysis.parsed_ok or not analysis.commands:
            raise RulesError("no rule can approve this call: its command could not be read")
        return Rule(
            tool=tool.name,
            risk=decision.risk,
            commands=tuple(_prefix(c) for c in analysis.commands),
            via=tuple(c.via for c in analysis.commands),
            redirects=any(r.writes for r in analysis.redirects),
            example=command,
            created=time.time(),
        )
    where = Path(folder) if folder else Path.cwd()
    shapes: dict[str, Any] = {}
    for name, value in call.arguments.items():
        kind = tool.kinds.get(name)
        if kind is Kind.PATH and isinstance(value, str) and value.strip():
            path = resolve(value, where)
            shapes[name] = {"folder": str(path.parent), "hidden": path.name.startswith(".")}
        elif kind in _EXACT_KINDS:
            shapes[name] = {"value": value}
        else:
            shapes[name] = {"any": True}
    return Rule(tool.name, decision.risk, arguments=shapes, example=example, created=time.time())


def rule_approves(
    call: ToolCall,
    tool: Tool,
    decision: Decision,
    rules: Sequence[Rule],
    after_result: bool,
    folder: str | None = None,
) -> Rule | None:
    """The first rule that approves this call, or None (then a person is asked).

    Pure but for resolving paths. Never a rule for a call planned after reading a result, nor
    for one no rule may approve (`why_no_rule`), nor above the rule's own risk.
    """
    if after_result or not rules or why_no_rule(decision) is not None:
        return None
    analysis = None
    if tool.shell_command_arg is not None:
        analysis = analyse(str(call.arguments.get(tool.shell_command_arg, "")))
        if not analysis.parsed_ok or not analysis.commands:
            return None
    for rule in rules:
        if rule.tool != tool.name or rule.risk not in APPROVABLE:
            continue  # (a hand-edited file cannot widen what rules approve)
        ceiling = Ceiling(rule.risk, "rule", Approver.RULE)  # the one approval rule decides
        if unattended(decision, ceiling, after_result=after_result) is not True:
            continue
        if analysis is not None:
            if any(r.writes for r in analysis.redirects) and not rule.redirects:
                continue
            if all(_command_matches(c, rule) for c in analysis.commands):
                return rule
        elif rule.arguments and _arguments_match(call, tool, rule, folder):
            return rule
    return None


def _prefix(command: SimpleCommand) -> tuple[str, ...]:
    """The program and its leading options; for a program with sub-commands (git, apt,
    docker, the bash reader's table), also the plain words among them (`git -C repo commit`),
    since a sub-command changes what the rest means."""
    words = [command.words[0].text]  # as written: `./cp` is not `cp`
    subcommands = command.program in SUBCOMMAND_RULES
    for word in command.args:
        if word.dynamic or not _PLAIN_WORD.match(word.text):
            break
        if not word.text.startswith("-") and not subcommands:
            break
        words.append(word.text)
    return tuple(words)


def _command_matches(command: SimpleCommand, rule: Rule) -> bool:
    argv = command.argv
    for prefix, via in zip(rule.commands, rule.via or ((),) * len(rule.commands), strict=False):
        if tuple(command.via) != tuple(via) or argv[: len(prefix)] != prefix:
            continue
        rest = command.args[len(prefix) - 1 :]
        if any(w.dynamic or (w.text.startswith("-") and len(w.text) > 1) for w in rest):
            continue  # an option the person never approved, or a word known only at run time
        return True
    return False


def _arguments_match(call: ToolCall, tool: Tool, rule: Rule, folder: str | None) -> bool:
    if set(call.arguments) != set(rule.arguments):
        return False
    where = Path(folder) if folder else Path.cwd()
    for name, value in call.arguments.items():
        shape = rule.arguments[name]
        if "folder" in shape:
            if not isinstance(value, str) or not value.strip():
                return False
            path = resolve(value, where)
            if str(path.parent) != shape["folder"] or ".." in Path(value).parts:
                return False
            if path.name.startswith(".") and not shape.get("hidden"):
                return False
        elif "value" in shape and value != shape["value"]:
            return False
    return True


class RuleStore:
    """The rules file in the config folder, read again whenever it changes on disk."""

    def __init__(self, config_dir: Path) -> None:
        """`config_dir`: the folder that holds rules.json."""
        self.path = config_dir / RULES_FILE
        self._seen: tuple[int, int] | None = None
        self._rules: tuple[Rule, ...] = ()

    def rules(self) -> tuple[Rule, ...]:
        """Every rule, oldest first; raises RulesError when the file is damaged."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._seen, self._rules = None, ()
            return ()
        except OSError as exc:
            raise RulesError(f"cannot read {self.path} ({exc.strerror})") from None
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._seen:
            self._rules = self._read()
            self._seen = stamp
        return self._rules

    def _read(self) -> tuple[Rule, ...]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return tuple(Rule.from_json(item) for item in data["rules"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RulesError(
                f"the rules file {self.path} is damaged ({type(exc).__name__}); fix it or "
                "remove it to start again with no rules"
            ) from None

    def add(self, rule: Rule) -> int:
        """Store a rule (an equal one is kept once); returns its number in `llmos rules list`."""
        current = list(self.rules())
        same = [i for i, r in enumerate(current) if _same(r, rule)]
        if same:
            return same[0] + 1
        current.append(rule)
        self._write(current)
        return len(current)

    def remove(self, number: int) -> Rule:
        """Remove rule `number` (1-based, as listed); raises RulesError when there is none."""
        current = list(self.rules())
        if not 1 <= number <= len(current):
            raise RulesError(
                f"there is no rule {number}; `llmos rules list` shows {len(current)} rule(s)"
            )
        removed = current.pop(number - 1)
        self._write(current)
        return removed

    def _write(self, rules: list[Rule]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{RULES_FILE}.{os.getpid()}.tmp")
        payload = {"version": 1, "rules": [r.to_json() for r in rules]}
        temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(temporary, self.path)
        self._seen = None

    def approving(
        self,
        call: ToolCall,
        tool: Tool,
        decision: Decision,
        after_result: bool,
        folder: str | None = None,
    ) -> Rule | None:
        """The first rule that approves the call; a damaged file approves nothing."""
        try:
            rules = self.rules()
        except RulesError:
            return None
        return rule_approves(call, tool, decision, rules, after_result, folder)


def _same(a: Rule, b: Rule) -> bool:
    return (a.tool, a.risk, a.commands, a.via, a.redirects, dict(a.arguments)) == (
        b.tool,
        b.risk,
        b.commands,
        b.via,
        b.redirects,
        dict(b.arguments),
    )
