"""`llmos undo [N]`: reverse the last N changes llmos made; `--list` shows the journal."""

from __future__ import annotations

import argparse

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "Reverse the last N changes llmos made (moves, renames, copies, overwrites, deletions), "
    "newest first, and say for each what was undone or why it cannot be. --list shows the "
    "journal without changing anything."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """N, and --list."""
    parser.add_argument(
        "count", nargs="?", type=int, default=1, metavar="N", help="how many to reverse (default 1)"
    )
    parser.add_argument(
        "--list", action="store_true", help="show what was recorded and whether it can be undone"
    )


def run(args: argparse.Namespace) -> int:
    """Undo, or list the journal; no model is loaded either way."""
    from llmos_shell.safety.undo import KEEP_ACTIONS
    from llmos_shell.ui.console import console, error_line, warn, wide_console
    from llmos_shell.ui.undo import run_undo, show_journal

    if not 1 <= args.count <= KEEP_ACTIONS:
        error_line(f"N must be a number from 1 to {KEEP_ACTIONS}, not {args.count}")
        return int(ExitStatus.USAGE)
    app = base.make_app(args)
    warn(console(stderr=True), app.config.warnings)
    if args.list:
        show_journal(app, wide_console(), as_json=args.json)
        return int(ExitStatus.OK)
    request = f"llmos undo {args.count}"
    return run_undo(app, args.count, console(), request=request, as_json=args.json)
