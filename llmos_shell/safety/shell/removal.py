"""A command that only removes named files or folders (`rm -r build notes.txt`, `rm *.log`).

Such a command has a safer equivalent, moving the same paths to the trash, which a confirmer
can offer; what the paths hold is counted there, since this reading stays pure (no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass

from llmos_shell.safety.shell.results import ShellAnalysis

_RM_LETTERS = frozenset("rRfivdI")
_RM_LONG = frozenset(
    {"--recursive", "--force", "--verbose", "--dir", "--interactive", "--one-file-system"}
)
_GLOB_CHARS = frozenset("*?[")
_RM_PATHS = frozenset({"rm", "/bin/rm", "/usr/bin/rm"})


@dataclass(frozen=True)
class Removal:
    """What a plain `rm` names, whether it goes into folders, and whether the shell globs."""

    targets: tuple[str, ...]
    recursive: bool
    globbed: bool


def plain_removal(analysis: ShellAnalysis) -> Removal | None:
    """The paths of a command that is one `rm` of plain paths and patterns, else None.

    Anything more (a pipeline, a wrapper, a redirect, a variable, an option rm does not
    share with the trash) keeps the command as it is.
    """
    if not analysis.parsed_ok or len(analysis.commands) != 1 or analysis.redirects:
        return None
    command = analysis.commands[0]
    if command.via or command.assignments or command.words[0].text not in _RM_PATHS:
        return None
    targets: list[str] = []
    recursive = False
    only_paths = False
    for word in command.args:
        text = word.text
        if word.dynamic or "{" in text or not text:
            return None
        if not only_paths and text == "--":
            only_paths = True
        elif not only_paths and text.startswith("--"):
            name = text.split("=", 1)[0]
            if name not in _RM_LONG:
                return None
            recursive |= name == "--recursive"
        elif not only_paths and text.startswith("-") and len(text) > 1:
            letters = set(text[1:])
            if not letters <= _RM_LETTERS:
                return None
            recursive |= bool(letters & {"r", "R"})
        else:
            targets.append(text)
    if not targets:
        return None
    globbed = any(_GLOB_CHARS & set(target) for target in targets)
    return Removal(tuple(targets), recursive, globbed)
