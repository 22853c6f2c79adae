"""`llmos inbox`: what the automations did and said while you were away."""

from __future__ import annotations

import argparse
import json

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "The inbox: each automation run's outcome and every message the notify tool sent. Shows "
    "what is new and marks it read; --all shows everything kept."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--all."""
    parser.add_argument(
        "--all", dest="everything", action="store_true", help="also what was read before"
    )


def run(args: argparse.Namespace) -> int:
    """Print the inbox and mark it read."""
    from llmos_shell.ui.console import console
    from llmos_shell.ui.jobs import JobsView

    with base.opened_app(args) as app:
        view = JobsView(app, console())
        if args.json:
            entries = view.store.inbox(unseen_only=not args.everything)
            print(json.dumps([e.__dict__ for e in entries], ensure_ascii=False, indent=2))
            view.store.mark_seen([e.id for e in entries if not e.seen])
        else:
            view.inbox(everything=args.everything)
    return int(ExitStatus.OK)
