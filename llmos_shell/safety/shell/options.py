"""Allow-lists of options: how one read-only program's options are described and checked.

A program is read-only only with the options listed for it (as in Codex's execpolicy: every
flag a program may take is named, and anything else is unverified). An option outside the list
makes the command at least a write, or unknown where the program has options that run code
(`sort --compress-program`, `tar --to-command`). Options known to do more than read are named
with what they do (`ss -K` closes connections). The table itself is in `readonly`.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.words import Word, is_option, word_set


@dataclass(frozen=True)
class Options:
    """The options of one read-only program that keep it read-only.

    Short options are letters (`flags` take no value, `values` do); long options are names.
    `words` programs spell options as whole words after one dash (`find -name`, `lshw -short`).
    `any_option` says every option the program has only reads. `known` names options that do
    more, with their risk and a sentence; `runs` names options whose following words are a
    command the program starts (`pidstat -e PROG`).
    """

    flags: str = ""
    values: str = ""
    long_flags: frozenset[str] = frozenset()
    long_values: frozenset[str] = frozenset()
    numeric: bool = False  # `-5` as in `head -5`
    words: bool = False
    any_option: bool = False
    unknown: Risk = Risk.WRITE
    known: Mapping[str, tuple[Risk, str]] = field(default_factory=dict)
    runs: frozenset[str] = frozenset()


def opts(
    flags: str = "",
    values: str = "",
    long_flags: str = "",
    long_values: str = "",
    *,
    numeric: bool = False,
    words: bool = False,
    unknown: Risk = Risk.WRITE,
    known: Mapping[str, tuple[Risk, str]] | None = None,
    runs: str = "",
) -> Options:
    if words:  # whole-word options are kept with the long ones
        long_flags, long_values = f"{flags} {long_flags}", f"{values} {long_values}"
        flags = values = ""
    return Options(
        flags,
        values,
        word_set(long_flags) | {"--help", "--version"},
        word_set(long_values),
        numeric,
        words,
        False,
        unknown,
        dict(known or {}),
        word_set(runs),
    )


def any_option(values: str = "", known: Mapping[str, tuple[Risk, str]] | None = None) -> Options:
    """Every option only reads (`echo`, `ps`); `values` keeps option values from being operands."""
    return Options(values=values, any_option=True, known=dict(known or {}))


@dataclass(frozen=True)
class OptionCheck:
    """What checking a command's options against its allow-list found."""

    findings: tuple[tuple[Risk, str], ...] = ()
    runs_at: int | None = None  # index in args where a command the program starts begins


def check_options(prog: str, spec: Options, args: Sequence[Word]) -> OptionCheck:
    """Each option of `prog args` outside the allow-list, and options that do more."""
    findings: list[tuple[Risk, str]] = []

    def found(option: str, has_value: bool = False) -> None:
        if option in spec.known:
            risk, reason = spec.known[option]
            findings.append((risk, reason.format(prog=prog, opt=option)))
        elif not spec.any_option:
            findings.append(
                (spec.unknown, f"{prog} {option} is an option not known to be read-only")
            )

    i = 0
    while i < len(args):
        arg = args[i]
        text = arg.text
        if text == "--":
            break
        if not is_option(arg):
            i += 1
            continue
        if spec.words or text.startswith("--"):
            name, has_value, _ = text.partition("=")
            if name in spec.runs:
                return OptionCheck(tuple(findings), i + 1 if i + 1 < len(args) else None)
            value_option = name in spec.long_values
            if name in spec.known or not (value_option or name in spec.long_flags):
                found(name)
            if value_option and not has_value:
                i += 1
        elif spec.numeric and text[1:].isdigit():
            pass
        else:
            letters = text[1:]
            for j, letter in enumerate(letters):
                option = f"-{letter}"
                if option in spec.runs:
                    return OptionCheck(tuple(findings), i + 1 if i + 1 < len(args) else None)
                if option in spec.known:
                    found(option)
                elif letter not in spec.flags and letter not in spec.values:
                    if spec.numeric and letters[j:].isdigit():
                        break
                    found(option)
                    if not spec.any_option:
                        break
                if letter in spec.values:
                    i += j == len(letters) - 1  # the value is the next word
                    break
        i += 1
    return OptionCheck(tuple(findings))
