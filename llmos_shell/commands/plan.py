"""`llmos plan` (the calls a request would make) and `llmos suggest` (one shell command)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

if TYPE_CHECKING:
    from llmos_shell.app import App

PLAN_DESCRIPTION = (
    "Print the calls a request would make, without running anything. With -, read "
    'JSON Lines from stdin: a JSON string or {"request": TEXT, "tools": [OpenAI tool '
    'specs]}; write {"calls": [...], "answer": TEXT_OR_NULL} for each line.'
)
SUGGEST_DESCRIPTION = (
    "Write one shell command for a request, then run / edit / describe / copy / abort. "
    'With -, read JSON Lines from stdin: a JSON string or {"request": TEXT, "cwd": DIR}; '
    'write {"command": TEXT} or {"command": null, "error": TEXT} for each line.'
)


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The request, or - for JSON Lines."""
    base.add_request_argument(parser)


def run_plan(args: argparse.Namespace) -> int:
    """Print the planned calls for a request without running anything."""
    with base.opened_app(args) as app:
        return _plan(app, args)


def _plan(app: App, args: argparse.Namespace) -> int:
    from llmos_shell.ui.console import console, warn
    from llmos_shell.ui.render import format_call

    warn(console(stderr=True), (*app.config.warnings, *app.registry.warnings))
    if args.request == ["-"]:
        from llmos_shell.ui.batch import plan_batch

        plan_batch(app, _stdin_bytes(), sys.stdout)
        return int(ExitStatus.OK)
    request = base.joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    from llmos_shell.calls import memories_json, memory_line

    app.preload_backend()  # the model loads while the tools' shortlist is built
    piped = base.piped_input()
    session = app.session()
    action = session.plan(request, piped=piped)
    calls = [action.call.to_json()] if action.call else []
    if args.json:
        from llmos_shell.planning.choosing import candidates_json

        out: dict[str, Any] = {
            "calls": calls,
            "answer": action.answer,
            "memories": memories_json(session.last_memories),
        }
        if piped is not None:  # its calls would need a person's yes, whatever the flags
            out["piped"] = base.piped_json(piped)
        if action.candidates:  # several things fit: the shell would ask which
            out["candidates"] = candidates_json(action)
        if action.notes:
            out["resolved"] = list(action.notes)
        if session.last_trimmed:  # what was left out to fit the model's context
            out["trimmed"] = session.last_trimmed
        print(json.dumps(out, ensure_ascii=False))
    elif action.call:
        console().print(format_call(action.call), markup=False)
        for note in action.notes:
            console().print(f"resolved {note}", style="dim", markup=False)
    else:
        console().print(action.answer or "", markup=False)
    if session.last_trimmed and not args.json:
        console().print(session.last_trimmed, style="dim", markup=False)
    if session.last_memories and not args.json:
        console().print(memory_line(session.last_memories), style="dim", markup=False)
    return int(ExitStatus.OK)


def run_suggest(args: argparse.Namespace) -> int:
    """One shell command for a request: printed, or offered to run at a terminal."""
    with base.opened_app(args) as app:
        return _suggest(app, args)


def _suggest(app: App, args: argparse.Namespace) -> int:
    from llmos_shell.ui.console import console, terminal_ask, warn

    warn(console(stderr=True), (*app.config.warnings, *app.registry.warnings))
    if args.request == ["-"]:
        from llmos_shell.ui.batch import suggest_batch

        suggest_batch(app, _stdin_bytes(), sys.stdout)
        return int(ExitStatus.OK)
    request = base.joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    if args.json or args.plain or not sys.stdin.isatty():
        command = app.suggester.suggest(request).command
        print(json.dumps({"command": command}) if args.json else command)
        return int(ExitStatus.OK)
    from llmos_shell.commands.request import policy_options
    from llmos_shell.ui.suggest import suggest_interactive

    return suggest_interactive(app, request, console(), terminal_ask, policy_options(args))


def _stdin_bytes() -> IO[bytes] | IO[str]:
    """Standard input as bytes, so each line is decoded on its own whatever the locale."""
    return getattr(sys.stdin, "buffer", sys.stdin)


def add_suggest_arguments(parser: argparse.ArgumentParser) -> None:
    """The request, and the approvals given in advance for running the command."""
    from llmos_shell.commands.request import add_approval_options

    base.add_request_argument(parser)
    add_approval_options(parser)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="print the command alone and offer nothing, even at a terminal (for key bindings)",
    )
