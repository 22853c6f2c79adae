"""Values bash evaluates later than a parser sees them: arithmetic, indexes, names, prompts.

Bash evaluates a variable's value as an arithmetic expression in `$((x))`, `((x))`, `let`,
`[[ $x -eq 0 ]]` and array indexes, and evaluating `a[$(cmd)]` there runs `cmd`; `${!x}` and
`printf -v`/`read`/`unset`/`declare` with an index do the same, and `${v@P}` expands a value as a
prompt, command substitutions included. So a command is not read-only when such a place uses a
variable the command itself set to something other than a plain number, when an index written
in a name holds a command, or when an assigned value is shaped like one (`x='a[$(rm -rf ~)]'`).
A variable the command does not set holds whatever the environment gives it, which is not
known before the command runs either; only bash's own numeric variables are safe there.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmos_shell.calls import Risk

_INTEGER_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INDEX_CODE_RE = re.compile(r"\[[^\]]*(\$\(|`|\$\{)")  # `a[$(cmd)]`, `a[`cmd`]`, `a[${x}]`
_INDEX_NAMES_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)|\b([A-Za-z_][A-Za-z0-9_]*)\b")
_BASE_NUMBER_RE = re.compile(r"\b\d+#[0-9A-Za-z@_]+")
ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
# bash's own variables that always hold a number
_NUMERIC_SPECIALS = frozenset(
    "RANDOM SRANDOM LINENO SECONDS EPOCHSECONDS BASHPID PPID UID EUID SHLVL OPTIND COLUMNS "
    "LINES HISTCMD".split()
)


def _names_in(text: str) -> list[str]:
    text = _BASE_NUMBER_RE.sub("0", text)
    return [a or b for a, b in _INDEX_NAMES_RE.findall(text)]


@dataclass
class Evaluations:
    """Assignments and the places that evaluate values, gathered over one whole command."""

    assigned: dict[str, bool] = field(default_factory=dict)  # name -> holds only a number
    values: dict[str, list[str]] = field(default_factory=dict)  # name -> values set, as written
    evaluated: list[tuple[str, str]] = field(default_factory=list)  # (name, where)
    prompts: list[str] = field(default_factory=list)
    findings: list[tuple[Risk, str]] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)  # defined by the command, bodies judged

    def assign(self, name: str, value: str | None, number: bool = False) -> None:
        """`name` is set to `value` (None: known only at run time); `number`: always a number."""
        number = number or (value is not None and bool(_INTEGER_RE.match(value)))
        self.assigned[name] = self.assigned.get(name, True) and number
        if value is not None and value not in self.values.setdefault(name, []):
            self.values[name].append(value)
        if value is not None:
            if _INDEX_CODE_RE.search(value):
                self.findings.append(
                    (
                        Risk.UNKNOWN,
                        f"{name} holds {value}, a command bash runs if the value is ever "
                        "used as a number or a name",
                    )
                )

    def evaluate(self, name: str, where: str) -> None:
        """Bash evaluates the value of `name` as code at `where`."""
        self.evaluated.append((name, where))

    def evaluate_text(self, text: str, where: str) -> None:
        """Bash evaluates `text` (an arithmetic expression) at `where`."""
        if "$(" in text or "`" in text:
            self.findings.append(
                (Risk.UNKNOWN, f"{where} evaluates the output of a command, which can run more")
            )
        for name in _names_in(text):
            self.evaluate(name, where)

    def name_argument(self, text: str, where: str) -> None:
        """A word a builtin takes as a variable name (`printf -v NAME`, `read NAME`)."""
        _, bracket, index = text.partition("[")
        if not bracket:
            return
        if _INDEX_CODE_RE.search(text):
            self.findings.append(
                (Risk.UNKNOWN, f"{where} evaluates the index in {text}, which runs a command")
            )
        else:
            self.evaluate_text(index.rstrip("]"), where)

    def prompt(self, name: str) -> None:
        """`${name@P}`: the value is expanded as a prompt, command substitutions included."""
        self.prompts.append(name)

    def results(self) -> list[tuple[Risk, str]]:
        """Every finding: values bash would evaluate as code, and code written into names."""
        out = list(self.findings)
        for name, where in dict.fromkeys(self.evaluated):
            if not _NAME_RE.match(name) or name in _NUMERIC_SPECIALS:
                continue
            if self.assigned.get(name) is True:
                continue
            source = (
                "the command sets it to something other than a number"
                if name in self.assigned
                else "its value comes from outside the command"
            )
            out.append(
                (Risk.UNKNOWN, f"{where} evaluates the value of {name} as code, and {source}")
            )
        for name in self.prompts:
            if name not in _NUMERIC_SPECIALS:
                out.append(
                    (Risk.UNKNOWN, f"${{{name}@P}} expands {name} as a prompt, which runs commands")
                )
        return out
