"""`llmos completion bash|zsh|fish`: the completion script, generated from the command table.

The script is written by `shtab` from one argparse parser that holds every subcommand of
`COMMANDS` with its own options, so a new subcommand or option completes without anything
written by hand; the script needs nothing but the shell (not the bash-completion package).
"""

from __future__ import annotations

import argparse

from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "Print the completion script for a shell, generated from llmos's own commands. "
    'Load it with: eval "$(llmos completion bash)" (or put it in your startup file).'
)
SHELLS = ("bash", "zsh", "fish")
# zsh's completion system, started when the startup file has not started it yet.
ZSH_COMPINIT = "(( $+functions[compdef] )) || { autoload -Uz compinit && compinit -i; }\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The shell to complete in."""
    parser.add_argument("shell", choices=SHELLS, help="the shell the script is for")


def run(args: argparse.Namespace) -> int:
    """Print the completion script for `args.shell`."""
    print(script(args.shell))
    return int(ExitStatus.OK)


def script(shell: str) -> str:
    """The completion script for `shell`, from the parser of every command."""
    import shtab

    generated = shtab.complete(completion_parser(), shell=shell)
    if shell == "zsh":  # loaded by eval it registers with compdef, which compinit defines
        return ZSH_COMPINIT + generated
    return generated


def completion_parser() -> argparse.ArgumentParser:
    """One parser with every subcommand of the table under it, for the completion script.

    The request words of `llmos REQUEST` are free text and complete nothing; the top level
    offers the options and the subcommands.
    """
    from llmos_shell.commands import COMMANDS
    from llmos_shell.commands.base import add_common_options
    from llmos_shell.commands.request import add_approval_options

    parser = argparse.ArgumentParser(prog="llmos")
    add_common_options(parser)
    add_approval_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="execute nothing")
    subcommands = parser.add_subparsers(dest="command")
    for command in COMMANDS:
        summary = command.overview[0][1] if command.overview else None
        sub = subcommands.add_parser(command.name, help=summary)
        for action in command.parser()._actions:
            if not isinstance(action, argparse._HelpAction):
                sub._add_action(action)
    return parser
