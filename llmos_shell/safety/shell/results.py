"""What reading a bash command finds: its simple commands, redirects, risk and reasons."""

from __future__ import annotations

from dataclasses import dataclass

from llmos_shell.calls import Risk
from llmos_shell.safety.shell.words import Word, program_name

DOWNLOAD_EXEC = "download and execute: runs code downloaded from the network"
EXFILTRATION = "exfiltration"
PARSE_FAILED = "the command could not be parsed"


@dataclass(frozen=True)
class SimpleCommand:
    """One program the command would run: its words, and the wrappers that start it."""

    words: tuple[Word, ...]
    assignments: tuple[str, ...] = ()
    via: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        """The program's name without its folder (`/bin/rm` gives `rm`); empty when none."""
        return program_name(self.words[0].text) if self.words else ""

    @property
    def args(self) -> tuple[Word, ...]:
        """The words after the program name."""
        return self.words[1:]

    @property
    def argv(self) -> tuple[str, ...]:
        """All words as text, program first."""
        return tuple(word.text for word in self.words)

    @property
    def dynamic_program(self) -> bool:
        """True when the program name itself is only known at run time (`$CMD args`)."""
        return bool(self.words) and self.words[0].dynamic


@dataclass(frozen=True)
class Redirect:
    """A redirection from or to a file (`> f`, `>> f`, `&> f`, `< f`)."""

    operator: str
    target: Word

    @property
    def writes(self) -> bool:
        """True when the redirection writes to its target."""
        return ">" in self.operator


@dataclass(frozen=True)
class ShellAnalysis:
    """What a bash command would do, judged before it runs."""

    source: str
    parsed_ok: bool
    commands: tuple[SimpleCommand, ...]
    redirects: tuple[Redirect, ...]
    risk: Risk
    reasons: tuple[str, ...]
    sensitive_paths: tuple[str, ...] = ()
    recursive_functions: tuple[str, ...] = ()
    loop_values: tuple[tuple[str, str], ...] = ()  # (variable, word) of `for v in WORDS`

    @property
    def read_only(self) -> bool:
        """True when every part of the command only reads."""
        return self.risk is Risk.READ_ONLY

    @property
    def programs(self) -> tuple[str, ...]:
        """Names of the programs the command runs, in order, without repeats."""
        return tuple(dict.fromkeys(cmd.program for cmd in self.commands if cmd.program))


@dataclass(frozen=True)
class Token:
    """A word of a simple command, and what its expansions hold."""

    word: Word
    downloads: bool  # expands to the output of a network download (`$(curl x)`, `<(wget x)`)
    substitutes: bool = False  # holds a command or process substitution (`$(env)`, `<(ls)`)
