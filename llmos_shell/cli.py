"""The `llmos` command: the parser built from the command table, and the one error boundary.

Heavy libraries are imported only by the commands that need them, so `llmos --help` is fast.
Every failure a person can fix is one line on stderr and an exit status; a bug is one line
too, with its traceback only under `--debug`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence

from llmos_shell import __version__
from llmos_shell.errors import Cancelled, ExitStatus, LlmosError
from llmos_shell.ui.console import error_line

DESCRIPTION = "A natural-language shell for your own computer, on a local model."


def build_parser() -> argparse.ArgumentParser:
    """The parser for requests and global options (subcommands have their own)."""
    from llmos_shell.commands import overview
    from llmos_shell.commands.base import add_common_options
    from llmos_shell.commands.request import add_arguments

    parser = argparse.ArgumentParser(
        prog="llmos",
        description=f"{DESCRIPTION}\n\n{overview()}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    add_common_options(parser)
    parser.add_argument("--version", action="version", version=f"llmos {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmos` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        return _dispatch(args_list)
    except LlmosError as exc:
        error_line(str(exc))
        if debug:
            raise
        return int(exc.exit_status)
    except (KeyboardInterrupt, Cancelled):
        error_line("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.OK)
    except Exception as exc:
        if debug:
            raise
        error_line(
            f"internal error: {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and please report it)"
        )
        return int(ExitStatus.ERROR)


def _dispatch(argv: list[str]) -> int:
    from llmos_shell.commands import BY_NAME

    index = _subcommand_index(argv, BY_NAME)
    if index is not None:
        command = BY_NAME[argv[index]]
        args = command.parser().parse_args(argv[:index] + argv[index + 1 :])
        return command.handler()(args)
    from llmos_shell.commands.request import run

    return run(build_parser().parse_args(argv))


def _subcommand_index(argv: list[str], names: Collection[str]) -> int | None:
    """Where a subcommand name stands, if the first word that is not an option is one."""
    from llmos_shell.commands.base import VALUED_OPTIONS

    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return None
        if word in VALUED_OPTIONS:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return i if word in names else None
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
