"""What every subcommand shares: its row in the table, the common options, opening the app.

Command modules import only the standard library at their top, so that building the parser
(and `llmos --help`) imports nothing heavy; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmos_shell.app import App
    from llmos_shell.planning.piped import PipedText


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, its lines in `llmos --help`, and the module that runs it.

    The module is imported only when the subcommand runs (or shows its own help): it has
    `DESCRIPTION`, `run(args) -> int`, and `add_arguments(parser)` when it takes any.
    """

    name: str
    module: str
    overview: tuple[tuple[str, str], ...]  # (usage after `llmos`, what it does) lines
    run: str = "run"
    arguments: str | None = None
    description: str = "DESCRIPTION"

    def parser(self) -> argparse.ArgumentParser:
        """The parser of this subcommand, common options included."""
        module = importlib.import_module(self.module)
        parser = argparse.ArgumentParser(
            prog=f"llmos {self.name}", description=getattr(module, self.description)
        )
        add_common_options(parser)
        if self.arguments is not None:
            getattr(module, self.arguments)(parser)
        return parser

    def handler(self) -> Callable[[argparse.Namespace], int]:
        """The function that runs the subcommand."""
        run: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(self.module), self.run
        )
        return run


# Options that take a value, so the word after them is not a request or a subcommand.
VALUED_OPTIONS = ("--model", "--backend", "--device", "--profile")
# Settings that options of the same name override.
OVERRIDDEN_SETTINGS = ("model", "backend", "device")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every command takes: the model and backend, --debug and --json."""
    from llmos_shell.backends import BACKENDS, DEFAULT_BACKEND

    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a GGUF file, a model folder or a hub id (ORG/NAME) in the local cache; "
        "the openai backend's served model name (default: the embedded model)",
    )
    parser.add_argument(
        "--backend",
        choices=tuple(BACKENDS),
        help=f"the backend that runs the model (default: {DEFAULT_BACKEND})",
    )
    parser.add_argument(
        "--device",
        metavar="DEV",
        help="the transformers backend's device: cuda, cuda:1, mps or cpu (default: the best)",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="use the settings of [profiles.NAME] in config.toml (also LLMOS_PROFILE)",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="plan without the memory and remember nothing (the setting: memory = false)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and model timings")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_request_argument(parser: argparse.ArgumentParser) -> None:
    """A request in words, or `-` for JSON Lines on stdin."""
    parser.add_argument("request", nargs="+", help="the request, or - for JSON Lines on stdin")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line."""
    values = {key: getattr(args, key, None) for key in OVERRIDDEN_SETTINGS}
    values["profile"] = getattr(args, "profile", None)  # which bundle, not a setting itself
    if getattr(args, "no_memory", False):
        values["memory"] = False
    return values


def make_app(args: argparse.Namespace) -> App:
    """Load the configuration (command-line overrides first) and build the app."""
    from llmos_shell.app import App
    from llmos_shell.config import load_config

    return App(config=load_config(overrides=overrides(args)), debug=args.debug)


@contextlib.contextmanager
def opened_app(args: argparse.Namespace) -> Iterator[App]:
    """The app for one command; closing it records the model's usage and frees it."""
    from llmos_shell.ui.console import console, warn

    app = make_app(args)
    try:
        yield app
    finally:
        app.close()
        if app.usage_error:
            warn(console(stderr=True), [app.usage_error])


def joined_request(args: argparse.Namespace) -> str | None:
    """The request words as one line; None (after saying so) when they are empty."""
    from llmos_shell.ui.console import error_line

    request = " ".join(args.request).strip()
    if not request:
        error_line("the request is empty; type what you want in plain words")
        return None
    return request


def piped_input() -> PipedText | None:
    """The text piped into this command, when stdin is a pipe or a file that holds some.

    A terminal, /dev/null or a socket is never read, so a command started without input
    does not wait for any.
    """
    import os
    import stat
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or sys.stdin.isatty():
        return None
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return None
    from llmos_shell.planning.piped import read_piped

    piped = read_piped(stream)
    return piped if piped.total_bytes else None


def piped_json(piped: PipedText | None) -> dict[str, Any] | None:
    """What --json says about the piped input: its size and what was cut."""
    if piped is None:
        return None
    return {
        "bytes": piped.total_bytes,
        "lines": piped.total_lines,
        "cut_lines": piped.cut_lines,
        "binary": piped.binary,
    }
