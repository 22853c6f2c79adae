"""`llmos REQUEST` (one request, then exit) and `llmos` alone (the interactive shell)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

if TYPE_CHECKING:
    from rich.console import Console

    from llmos_shell.app import App
    from llmos_shell.safety.policy import PolicyOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a request: its words, the approvals given in advance, --dry-run."""
    parser.add_argument(
        "request", nargs="*", help="a request in plain words; none starts the shell"
    )
    add_approval_options(parser)
    parser.add_argument(
        "--dry-run", action="store_true", help="show the planned call and execute nothing"
    )
    parser.add_argument(
        "--continue",
        "-c",
        dest="resume",
        action="store_true",
        help="continue the last conversation, from this or another process "
        '(llmos -c "now the same in Downloads")',
    )


def add_approval_options(parser: argparse.ArgumentParser) -> None:
    """--yes and --yes-destructive: what the person approves before anything is planned."""
    parser.add_argument("--yes", "-y", action="store_true", help="approve writes without asking")
    parser.add_argument(
        "--yes-destructive",
        action="store_true",
        help="also approve destructive calls without asking (privileged ones always ask)",
    )


def policy_options(args: argparse.Namespace) -> PolicyOptions:
    """What the person approved in advance with --yes and --yes-destructive."""
    from llmos_shell.safety.policy import PolicyOptions

    return PolicyOptions(
        yes_writes=args.yes or args.yes_destructive, yes_destructive=args.yes_destructive
    )


def run(args: argparse.Namespace) -> int:
    """A request given: plan and run it. None: start the interactive shell."""
    if args.request:
        with base.opened_app(args) as app:
            _continue(app, args)
            return _run_request(app, args)
    from llmos_shell.ui.repl.app import run_shell

    app = base.make_app(args)
    _continue(app, args)
    return run_shell(app, options=policy_options(args))


def _continue(app: App, args: argparse.Namespace) -> None:
    """With --continue, the last kept conversation becomes this one (said when none is)."""
    if args.resume and not app.continue_last():
        from llmos_shell.ui.console import console, warn

        warn(console(stderr=True), ["no earlier conversation is kept; this one starts anew"])


def _run_request(app: App, args: argparse.Namespace) -> int:
    from llmos_shell.session import SilentEvents, deny_all
    from llmos_shell.ui.console import console, terminal_ask, warn, wide_console
    from llmos_shell.ui.interrupt import cancel_on_sigint
    from llmos_shell.ui.plain import PlainEvents
    from llmos_shell.ui.progress import ElapsedSpinner
    from llmos_shell.ui.render import ConsoleEvents

    err = console(stderr=True)
    warn(err, (*app.config.warnings, *app.registry.warnings))
    request = base.joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    piped = base.piped_input()
    out = wide_console()
    if piped is None and not args.json and _is_automation(app, request):
        return _add_automation(app, out, request, args)
    app.preload_backend()  # the model loads while the tools' shortlist is built
    confirmer: Any = deny_all
    if sys.stdin.isatty() and not args.json:
        from llmos_shell.ui.removal import TRASH_TOOL
        from llmos_shell.ui.repl.confirm import InteractiveConfirmer

        confirmer = InteractiveConfirmer(
            out, terminal_ask, trash=TRASH_TOOL in app.registry, rules=app.rules
        )
    spinner = ElapsedSpinner(err) if out.is_terminal and not args.json else None
    events: SilentEvents | ConsoleEvents | PlainEvents = SilentEvents()
    try:
        if spinner is not None:
            spinner.start("loading the model")
        session = app.session(confirmer=confirmer, options=policy_options(args), rules=True)
        if not args.json:
            events = ConsoleEvents(out, spinner) if out.is_terminal else PlainEvents()
        with cancel_on_sigint() as cancel:
            outcome = session.run(
                request,
                events,
                dry_run=args.dry_run,
                cancel=cancel,
                piped=piped,
                stream=isinstance(events, ConsoleEvents),  # a terminal: streamed as checked
            )
    finally:
        if spinner is not None:
            spinner.stop()  # whatever happened, the spinner goes
    if args.json:
        shown = outcome.to_json()
        shown["conversation"] = app.conversation.id
        if piped is not None:
            shown["piped"] = base.piped_json(piped)
        print(json.dumps(shown, ensure_ascii=False, default=str))
    elif not isinstance(events, SilentEvents):
        events.finish()
    _offer_drafts(app, out, interactive=confirmer is not deny_all)
    if app.audit.last_error:
        warn(err, [app.audit.last_error])
    if args.debug:
        print_stats(app, err)
    return int(outcome.status.exit_status)


def _is_automation(app: App, request: str) -> bool:
    """A plain automation request ("every weekday at 9 ..."): its time is read, not planned."""

    from llmos_shell.scheduler.phrases import looks_like_automation

    return looks_like_automation(request, app.now())


def _add_automation(app: App, out: Console, request: str, args: argparse.Namespace) -> int:
    """The automation flow of `llmos jobs add`, for a request typed as a request."""
    from llmos_shell.scheduler import creation
    from llmos_shell.ui.console import terminal_ask
    from llmos_shell.ui.jobs import JobsView

    ask = terminal_ask if sys.stdin.isatty() else None
    view = JobsView(app, out, ask=ask, yes=args.yes, yes_destructive=args.yes_destructive)
    if args.dry_run:
        view.show_proposal(creation.propose(app, request, now=view.now()))
        return int(ExitStatus.OK)
    return int(ExitStatus.OK if view.add(request) is not None else ExitStatus.DECLINED)


def _offer_drafts(app: App, out: Console, *, interactive: bool) -> None:
    """Automations the schedule tool proposed: asked about here, or only named when no one is."""
    if not app.drafts:
        return
    from llmos_shell.ui.console import terminal_ask
    from llmos_shell.ui.jobs import JobsView

    JobsView(app, out, ask=terminal_ask if interactive else None).offer_drafts()


def print_stats(app: App, out: Console) -> None:
    """The model's counts and times for this command, dim, for --debug."""
    stats = app.backend.stats
    out.print(
        f"[dim]{stats.requests} generations, {stats.prompt_tokens} prompt tokens "
        f"({stats.cached_tokens} reused), {stats.completion_tokens} generated, "
        f"prompt {stats.prompt_s:.2f} s, total {stats.total_s:.2f} s, load {stats.load_s:.2f} s[/]"
    )
