"""`llmos init bash|zsh|fish`: the lines for a shell's startup file, a hotkey and completion.

`eval "$(llmos init bash)"` binds Ctrl-G: the words on the command line become a shell
command from `llmos suggest`, put in place of them for the person to read, edit and run; the
binding never runs it. The snippet names this very llmos by its path, so it works whatever
PATH the shell has.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "Print the lines to add to a shell's startup file: Ctrl-G turns the words on the command "
    "line into a shell command (never run by the key), and completion of llmos's commands. "
    'Add to ~/.bashrc: eval "$(llmos init bash)"; ~/.zshrc: eval "$(llmos init zsh)"; '
    "~/.config/fish/config.fish: llmos init fish | source"
)
SHELLS = ("bash", "zsh", "fish")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The shell, and whether completion comes with the hotkey."""
    parser.add_argument("shell", choices=SHELLS, help="the shell the lines are for")
    parser.add_argument(
        "--no-completion",
        action="store_true",
        help="only the hotkey; leave out the completion script",
    )


def run(args: argparse.Namespace) -> int:
    """Print the snippet for `args.shell`; it reads nothing from stdin."""
    print(snippet(args.shell, completion=not args.no_completion))
    return int(ExitStatus.OK)


def snippet(shell: str, *, completion: bool = True) -> str:
    """The startup lines for `shell`: how to call llmos, the hotkey, and completion."""
    from importlib import resources

    command = llmos_command()
    if shell == "fish":
        setting = "set -g __llmos_command " + " ".join(_fish_quote(w) for w in command)
    else:
        setting = "__llmos_command=(" + " ".join(shlex.quote(w) for w in command) + ")"
    hotkey = resources.files("llmos_shell.data").joinpath(f"hotkey.{shell}").read_text()
    parts = [setting, hotkey.rstrip("\n")]
    if completion:
        from llmos_shell.commands.completion import script

        parts.append(script(shell).rstrip("\n"))
    return "\n".join(parts)


def llmos_command() -> list[str]:
    """The words that run this llmos: its script's path, or this Python with `-m`."""
    program = sys.argv[0] if sys.argv else ""
    if os.path.basename(program) == "llmos" and os.path.exists(program):
        return [os.path.abspath(program)]
    return [sys.executable, "-m", "llmos_shell"]


def _fish_quote(word: str) -> str:
    """A word quoted for fish: single quotes, with backslashes and quotes escaped."""
    return "'" + word.replace("\\", "\\\\").replace("'", "\\'") + "'"
