"""Shell words as programs read them: options, operands, option values, files written.

The vocabulary the rules for single programs are written in, and the command they judge.
Pure: no I/O, nothing from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.evaluation import Evaluations


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`, as a set."""
    return frozenset(text.split())


ASSIGNMENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")


@dataclass(frozen=True)
class Word:
    """One shell word: its text (quotes removed) and whether it expands at run time."""

    text: str
    dynamic: bool = False


class JudgedCommand(Protocol):
    """One simple command as the rule for its program sees it."""

    @property
    def prog(self) -> str:
        """The program's name without its folder."""
        ...

    @property
    def args(self) -> Sequence[Word]:
        """The words after the program name."""
        ...

    @property
    def evals(self) -> Evaluations:
        """Where the whole command sets and evaluates variables."""
        ...

    def find(self, risk: Risk, reason: str) -> None:
        """Record what the command would do and how risky it is."""
        ...

    def nested(self, text: str, wrapper: str) -> None:
        """Analyse a command string that the program runs (`su -c "..."`)."""
        ...

    def judge_inner(self, start: int, end: int, wrapper: str) -> None:
        """Judge `args[start:end]` as a command that the program runs (`find -exec CMD ;`)."""
        ...


Rule = Callable[[JudgedCommand], None]


def program_name(text: str) -> str:
    """A program's name without its folder (`/bin/rm` gives `rm`)."""
    return text.rsplit("/", 1)[-1] if "/" in text.rstrip("/") else text


def is_option(word: Word) -> bool:
    """True for a word that is an option (`-r`, `--force`), known before the command runs."""
    return word.text.startswith("-") and len(word.text) > 1 and not word.dynamic


def short_letters(args: Sequence[Word], takes_value: str = "") -> str:
    """Letters of short option clusters (`-rf` gives `rf`), up to `--`.

    A letter in `takes_value` ends its cluster: the rest is its value (`-k2` gives `k`).
    """
    out = []
    for arg in args:
        if arg.text == "--":
            break
        if is_option(arg) and not arg.text.startswith("--"):
            for letter in arg.text[1:]:
                out.append(letter)
                if letter in takes_value:
                    break
    return "".join(out)


def long_options(args: Sequence[Word]) -> set[str]:
    """Names of the long options given (`--output=f` gives `--output`)."""
    return {a.text.split("=", 1)[0] for a in args if a.text.startswith("--") and len(a.text) > 2}


def positionals(
    args: Sequence[Word], takes_value: str = "", long_values: Collection[str] = ()
) -> list[Word]:
    """Words that are not options or option values."""
    out: list[Word] = []
    i = 0
    only_positional = False
    while i < len(args):
        arg = args[i]
        text = arg.text
        if only_positional or not is_option(arg):
            out.append(arg)
        elif text == "--":
            only_positional = True
        elif text.startswith("--"):
            if "=" not in text and text in long_values:
                i += 1
        else:
            letters = text[1:]
            for j, letter in enumerate(letters):
                if letter in takes_value:
                    if j == len(letters) - 1:
                        i += 1
                    break
        i += 1
    return out


def option_value(args: Sequence[Word], short: str, long: str) -> Word | None:
    """The value given to an option (`-o f`, `-of`, `--output=f`), or None."""
    for i, arg in enumerate(args):
        text = arg.text
        if text.startswith(long + "="):
            return Word(text.split("=", 1)[1], arg.dynamic)
        if text == long or text == f"-{short}":
            return args[i + 1] if i + 1 < len(args) else None
        if text.startswith(f"-{short}") and not text.startswith("--"):
            return Word(text[2:], arg.dynamic)
    return None


HARMLESS_DEVICE_RE = re.compile(
    r"^/dev/(null|zero|full|stdout|stderr|stdin|tty|fd/\d+)$|^/proc/self/fd/\d+$"
)
DISK_RE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|mapper/|loop\d)"
)
