"""Rules for bash builtins that set variables, evaluate values or change what names run.

`printf -v`, `read`, `mapfile`, `getopts`, `let`, `unset` and `test -v` take variable names,
and an index in a name is evaluated (`printf -v 'a[$(cmd)]'` runs `cmd`); `alias`, `hash -p`
and `enable` change what a command name runs; `history -w` writes a file. Pure: no I/O.
"""

from __future__ import annotations

import re

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.programs import clears_guard
from llmos_shell.safety.shell.targets import write_target
from llmos_shell.safety.shell.words import (
    JudgedCommand,
    Rule,
    Word,
    is_option,
    positionals,
    short_letters,
)

_ASSIGNED_IN_LET_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([-+*/%&|^]|<<|>>)?=(?!=)")


def _names(c: JudgedCommand, names: list[Word], where: str) -> None:
    for name in names:
        c.evals.name_argument(name.text, where)
        c.evals.assign(name.text.split("[", 1)[0], None)


def _rule_printf(c: JudgedCommand) -> None:
    args = list(c.args)
    for i, arg in enumerate(args):
        if arg.text == "--" or not is_option(arg):
            break
        if arg.text == "-v" and i + 1 < len(args):
            _names(c, [args[i + 1]], "printf -v")
            c.find(Risk.WRITE, f"printf -v sets the variable {args[i + 1].text}")
        elif arg.text.startswith("-v") and len(arg.text) > 2:
            _names(c, [Word(arg.text[2:], arg.dynamic)], "printf -v")
            c.find(Risk.WRITE, f"printf -v sets the variable {arg.text[2:]}")


def _rule_read(c: JudgedCommand) -> None:
    names = positionals(c.args, "adinNptu")
    array = None
    for i, arg in enumerate(c.args):
        if arg.text == "-a" and i + 1 < len(c.args):
            array = c.args[i + 1]
    _names(c, names + ([array] if array is not None else []), "read")


def _rule_mapfile(c: JudgedCommand) -> None:
    args = c.args
    for i, arg in enumerate(args):
        if arg.text == "-C" and i + 1 < len(args):
            c.nested(args[i + 1].text, f"{c.prog} -C")
    names = positionals(args, "dnOsuCc")
    _names(c, names[-1:], c.prog)


def _rule_getopts(c: JudgedCommand) -> None:
    names = positionals(c.args)
    _names(c, names[1:2], "getopts")


def _rule_let(c: JudgedCommand) -> None:
    for arg in c.args:
        c.evals.evaluate_text(arg.text, "let")
        assigned = _ASSIGNED_IN_LET_RE.match(arg.text)
        if assigned:
            c.evals.assign(assigned.group(1), None, number=True)


def _rule_unset(c: JudgedCommand) -> None:
    for name in positionals(c.args):
        c.evals.name_argument(name.text, "unset")
        if clears_guard(name.text):
            c.find(Risk.UNKNOWN, f"unset {name.text} gives programs back settings that run code")


def _rule_test(c: JudgedCommand) -> None:
    args = c.args
    for i, arg in enumerate(args):
        if arg.text == "-v" and i + 1 < len(args):
            c.evals.name_argument(args[i + 1].text, f"{c.prog} -v")


def _rule_alias(c: JudgedCommand) -> None:
    definitions = [a for a in positionals(c.args) if "=" in a.text]
    if not definitions:
        return  # lists aliases
    for definition in definitions:
        name, _, value = definition.text.partition("=")
        c.find(Risk.UNKNOWN, f"alias {name} changes what the name {name} runs")
        c.nested(value, f"alias {name}")


def _rule_hash(c: JudgedCommand) -> None:
    if "p" in short_letters(c.args, "p"):
        c.find(Risk.UNKNOWN, "hash -p makes a command name run another program")


def _rule_enable(c: JudgedCommand) -> None:
    letters = set(short_letters(c.args, "f"))
    if letters & {"f", "d", "n"} or positionals(c.args, "f"):
        c.find(Risk.UNKNOWN, "enable changes which builtins bash runs, or loads new ones")


def _rule_history(c: JudgedCommand) -> None:
    letters = set(short_letters(c.args, "d"))
    files = [p for p in positionals(c.args, "d") if not p.text.lstrip("-").isdigit()]
    if letters & {"w", "a"}:
        target = files[0] if files else Word("~/.bash_history")
        verb = "history -w writes the history to" if "w" in letters else "history -a adds to"
        c.find(*write_target(target, verb, truncates="w" in letters))
    if letters & {"s", "c", "d"}:
        c.find(Risk.WRITE, "history -s, -c or -d changes the command history")
    if letters - set("wascdrnp"):
        c.find(Risk.WRITE, "history has an option not known to be read-only")


def _rule_trap(c: JudgedCommand) -> None:
    code = c.args[0] if c.args and not is_option(c.args[0]) and c.args[0].text != "-" else None
    if code is not None and len(c.args) > 1:
        if code.dynamic:
            c.find(Risk.UNKNOWN, "trap runs a command built at run time")
        c.nested(code.text, "trap")


BUILTIN_RULES: dict[str, Rule] = {
    "printf": _rule_printf,
    "read": _rule_read,
    **dict.fromkeys(("mapfile", "readarray"), _rule_mapfile),
    "getopts": _rule_getopts,
    "let": _rule_let,
    "unset": _rule_unset,
    **dict.fromkeys(("test", "["), _rule_test),
    "alias": _rule_alias,
    "hash": _rule_hash,
    "enable": _rule_enable,
    "history": _rule_history,
    "trap": _rule_trap,
}
