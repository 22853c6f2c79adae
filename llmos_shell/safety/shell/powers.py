"""Options and scripts that do more than they look: list or change a disk, run a command,
write a file a program names. Tables of what each form does, and the rules that read them.

`RULES` here joins the rules of `rules.py`. `awk_targets` and `sed_targets` give the files an
awk program or a sed script writes, so each is judged by `write_target` like a redirect: a
start-up file written through any program is persistence. Pure: no I/O.
"""

from __future__ import annotations

import re

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.targets import write_target
from llmos_shell.safety.shell.words import (
    JudgedCommand,
    Rule,
    Word,
    long_options,
    positionals,
    short_letters,
    word_set,
)

# Per partitioning program, the options that only list (any one of them makes the call a
# listing), and for parted the commands that only print.
_LISTING_OPTIONS = {
    "fdisk": word_set("-l --list -x --list-details -s --getsz"),
    "sfdisk": word_set(
        "-l --list -d --dump -J --json -s --show-size -g --show-geometry -V --verify "
        "-F --list-free --list-types -T"
    ),
    "gdisk": word_set("-l"),
    "sgdisk": word_set("-p --print -i --info -v --verify -L --list-types -O --print-mbr"),
    "parted": word_set("-l --list"),
    "cfdisk": frozenset(),
}
_PARTED_PRINTS = word_set("print p unit s B kB MB GB TB KiB MiB GiB TiB % cyl chs compact free all")
# wipefs lists signatures unless told to erase them
_WIPEFS_ERASES = word_set("-a --all -o --offset")


def _options(c: JudgedCommand) -> set[str]:
    found = {f"-{letter}" for letter in short_letters(c.args)}
    return found | {name.split("=", 1)[0] for name in long_options(c.args)}


def _rule_partition(c: JudgedCommand) -> None:
    if _options(c) & _LISTING_OPTIONS.get(c.prog, frozenset()):
        return
    if c.prog == "parted":
        commands = [w.text for w in positionals(c.args)][1:]
        if commands and "print" in commands and all(w in _PARTED_PRINTS for w in commands):
            return
    c.find(Risk.DESTRUCTIVE, f"{c.prog} changes disk partitions")


def _rule_wipefs(c: JudgedCommand) -> None:
    if _options(c) & _WIPEFS_ERASES:
        c.find(Risk.DESTRUCTIVE, "wipefs erases file system signatures")


def _rule_zip(c: JudgedCommand) -> None:
    c.find(Risk.WRITE, "zip writes an archive")
    options = _options(c)
    if "--unzip-command" in options or any(a.text.startswith("-TT") for a in c.args):
        c.find(Risk.UNKNOWN, "zip -TT runs the command it is given to test the archive")


RULES: dict[str, Rule] = {
    **dict.fromkeys(_LISTING_OPTIONS, _rule_partition),
    "wipefs": _rule_wipefs,
    "zip": _rule_zip,
}

# --- files that awk and sed scripts write -------------------------------------------------

_AWK_OUTPUT_RE = re.compile(r"\bprintf?\b[^;}>|]*?(>>?)\s*(\"(?:[^\"\\]|\\.)*\"|[^\s;}]+)")


def awk_targets(program: str) -> list[Word] | None:
    """The files an awk program prints into, or None when one is named at run time."""
    targets: list[Word] = []
    for match in _AWK_OUTPUT_RE.finditer(program):
        name = match.group(2)
        if not (name.startswith('"') and name.endswith('"') and len(name) >= 2):
            return None
        targets.append(Word(name[1:-1]))
    return targets


_SED_WRITE_RE = re.compile(r"(?:^|[;{}\n\s\d/$!])\s*[wW]\s*(\S[^\n;]*)|/[gpiImMe\d]*w\s*(\S[^\n]*)")


def sed_targets(script: str) -> list[Word]:
    """The files a sed script's `w`, `W` and `s///w` commands write."""
    found = []
    for match in _SED_WRITE_RE.finditer(script):
        name = (match.group(1) or match.group(2) or "").strip()
        if name and name not in ("/dev/stdout", "/dev/stderr"):
            found.append(Word(name))
    return found


def judge_writes(c: JudgedCommand, targets: list[Word], verb: str) -> None:
    """Judge each file a script writes as a redirect to it would be."""
    for target in targets:
        risk, reason = write_target(target, verb)
        if risk.rank > Risk.WRITE.rank:
            c.find(risk, reason)
