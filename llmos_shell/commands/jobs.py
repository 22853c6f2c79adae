"""`llmos jobs`: create, list, show, pause, resume, remove, run now and look back at automations."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus, LlmosError

if TYPE_CHECKING:
    from llmos_shell.app import App
    from llmos_shell.ui.jobs import JobsView

DESCRIPTION = (
    "Automations: calls that run later or repeatedly while no one watches. `add` reads the "
    "time from plain words (every weekday at 9, in 20 minutes, every night at 2), plans the "
    "action into calls, shows them with their risk and asks once; a job then runs only those "
    "calls, and nothing riskier. The daemon (`llmos daemon start`) runs them."
)
RUN_NOW_WAIT_S = 30.0  # beyond the job's own time limits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions, each with its own arguments; --json and --debug work after them too."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON"
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    add = sub.add_parser("add", parents=[common], help="create an automation from plain words")
    add.add_argument(
        "words", nargs="+", help='when and what, e.g. "every weekday at 9 show me disk usage"'
    )
    add.add_argument(
        "--dry-run",
        action="store_true",
        help="show the trigger, next runs and calls; create nothing",
    )
    add.add_argument(
        "--if-missed",
        choices=("run-once", "skip"),
        default="run-once",
        help="a run due while the daemon was down: run it once, late (default), or record it as missed",
    )
    add.add_argument(
        "--yes", "-y", action="store_true", help="approve a job with write or network calls"
    )
    add.add_argument(
        "--yes-destructive", action="store_true", help="also approve a job with destructive calls"
    )
    sub.add_parser("list", parents=[common], help="list the automations")
    for name, what in (("show", "show one automation"), ("pause", "stop it running until resumed")):
        sub.add_parser(name, parents=[common], help=what).add_argument(
            "job", type=int, help="its number"
        )
    for name, what in (
        ("resume", "let a paused automation run again"),
        ("remove", "delete an automation"),
    ):
        sub.add_parser(name, parents=[common], help=what).add_argument(
            "job", type=int, help="its number"
        )
    run_now = sub.add_parser(
        "run-now", parents=[common], help="run an automation now, as it would run unattended"
    )
    run_now.add_argument("job", type=int, help="its number")
    run_now.add_argument(
        "--no-wait", action="store_true", help="hand it to the daemon and return at once"
    )
    sub.add_parser(
        "restore",
        parents=[common],
        help="put back the automations of a store that was emptied or replaced",
    )
    history = sub.add_parser("history", parents=[common], help="the run log, newest first")
    history.add_argument("job", type=int, nargs="?", help="only this automation's runs")
    history.add_argument("--limit", type=int, default=20, help="how many runs (default 20)")


def run(args: argparse.Namespace) -> int:
    """Do the action asked (list when none)."""
    from llmos_shell.ui.console import console, terminal_ask, wide_console
    from llmos_shell.ui.jobs import JobsView

    action = args.action or "list"
    if action == "add" and args.json:
        return _add_json(args)
    if action == "restore":
        from llmos_shell.config import load_config
        from llmos_shell.scheduler.location import restore_job_store

        print(restore_job_store(load_config(overrides=base.overrides(args))))
        return int(ExitStatus.OK)
    with base.opened_app(args) as app:
        interactive = sys.stdin.isatty() and not args.json
        view = JobsView(
            app,
            wide_console() if action in ("list", "history") else console(),
            ask=terminal_ask if interactive else None,
            yes=getattr(args, "yes", False),
            yes_destructive=getattr(args, "yes_destructive", False),
        )
        if args.json:
            print(
                json.dumps(_as_json(view, action, args), ensure_ascii=False, default=str, indent=2)
            )
            return int(ExitStatus.OK)
        if action == "add":
            return _add(view, args)
        if action == "list":
            view.list_jobs()
        elif action == "show":
            view.show_job(args.job)
        elif action == "history":
            view.history(args.job, limit=args.limit)
        elif action == "run-now":
            return _run_now(app, view, args)
        else:
            _change(view, action, args.job)
    return int(ExitStatus.OK)


def _add(view: JobsView, args: argparse.Namespace) -> int:
    from llmos_shell.scheduler import creation

    text = " ".join(args.words)
    if args.dry_run:
        with view.console.status("Planning the automation…"):
            proposal = creation.propose(view.app, text, now=view.now())
        view.show_proposal(proposal)
        view.console.print("[dim]Dry run: nothing was created.[/]")
        return int(ExitStatus.OK)
    number = view.add(text, misfire=args.if_missed)
    return int(ExitStatus.OK if number is not None else ExitStatus.DECLINED)


def _add_json(args: argparse.Namespace) -> int:
    """`add --json`: the proposal (and the job made, unless a dry run) as JSON, or the error."""
    from llmos_shell.scheduler import creation
    from llmos_shell.ui.console import console
    from llmos_shell.ui.jobs import JobsView

    text = " ".join(args.words)
    try:
        with base.opened_app(args) as app:
            proposal = creation.propose(app, text)
            out: dict[str, Any] = proposal.to_json()
            if not args.dry_run:
                view = JobsView(
                    app, console(stderr=True), yes=args.yes, yes_destructive=args.yes_destructive
                )
                number = view.create(proposal, misfire=args.if_missed)
                if number is None:
                    raise LlmosError(
                        f"not created: it is {proposal.risk.value}; pass --yes or --yes-destructive to approve it"
                    )
                out = {"job": number, **out}
    except LlmosError as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return int(exc.exit_status)
    print(json.dumps(out, ensure_ascii=False))
    return int(ExitStatus.OK)


def _change(view: JobsView, action: str, job_id: int) -> None:
    store = view.store
    record = store.job(job_id)
    if action == "remove":
        store.remove_job(job_id)
        view.console.print(
            f"Automation {job_id} removed; its runs stay in `llmos jobs history {job_id}`."
        )
        return
    if record.state == "finished":
        raise LlmosError(
            f"automation {job_id} ran its one run already; add it again to run it once more"
        )
    state = "paused" if action == "pause" else "active"
    store.set_state(job_id, state)
    view.console.print(f"Automation {job_id} {'paused' if state == 'paused' else 'resumed'}.")


def _run_now(app: App, view: JobsView, args: argparse.Namespace) -> int:
    """In the daemon when one runs (it runs the jobs), else here; the run is logged either way."""
    from llmos_shell.scheduler.location import store_url
    from llmos_shell.scheduler.lock import held_elsewhere
    from llmos_shell.scheduler.runner import run_job
    from llmos_shell.ui.interrupt import cancel_on_sigint

    store = view.store
    record = store.job(args.job)
    if record.spec is None:
        raise LlmosError(
            f"automation {args.job} is damaged ({record.error}); remove it and add it again"
        )
    if held_elsewhere(store_url(app.config)):
        before = max((run.id for run in store.runs(args.job, limit=1)), default=0)
        store.request_run(args.job)
        if args.no_wait:
            view.console.print(
                f"Asked the daemon to run automation {args.job} now; `llmos jobs history {args.job}` shows how it goes."
            )
            return int(ExitStatus.OK)
        deadline = (
            time.monotonic() + record.spec.timeout_s * len(record.spec.calls) + RUN_NOW_WAIT_S
        )
        while time.monotonic() < deadline:
            runs = [
                run
                for run in store.runs(args.job, limit=3)
                if run.id > before and run.status != "running"
            ]
            if runs:
                return _report(view, runs[-1].status, runs[-1].summary, args.job)
            time.sleep(0.2)
        raise LlmosError(
            f"the daemon has not finished automation {args.job} yet; `llmos jobs history {args.job}` will show it"
        )
    with cancel_on_sigint() as cancel:
        outcome = run_job(
            store, app, args.job, reason="run-now", scheduled_for=None, runner="cli", cancel=cancel
        )
    return _report(view, outcome.status, outcome.summary, args.job)


def _report(view: JobsView, status: str, summary: str, job_id: int) -> int:
    from rich.markup import escape

    from llmos_shell.ui.jobs import STATUS_STYLE

    view.console.print(
        f"Automation {job_id}: [{STATUS_STYLE.get(status, 'white')}]{status}[/] — {escape(summary)}"
    )
    codes = {
        "ok": ExitStatus.OK,
        "refused": ExitStatus.DECLINED,
        "cancelled": ExitStatus.INTERRUPTED,
    }
    return int(codes.get(status, ExitStatus.TOOL_FAILED))


def _as_json(view: JobsView, action: str, args: argparse.Namespace) -> Any:
    store = view.store
    if action == "list":
        scheduled = store.scheduled_times()
        return [_job_json(record, scheduled) for record in store.jobs()]
    if action == "show":
        record = store.job(args.job)
        return {
            **_job_json(record, store.scheduled_times()),
            "runs": [_run_json(r) for r in store.runs(args.job, limit=5)],
        }
    if action == "history":
        return [_run_json(run) for run in store.runs(args.job, limit=args.limit)]
    raise LlmosError(f"--json works with list, show, history and add, not with {action}")


def _job_json(record: Any, scheduled: dict[int, Any]) -> dict[str, Any]:
    next_run = scheduled.get(record.id)
    return {
        "id": record.id,
        "state": record.state,
        "spec": record.spec.to_json() if record.spec else None,
        "error": record.error,
        "next_run": next_run.isoformat() if next_run else None,
        "created_at": record.created_at,
    }


def _run_json(run: Any) -> dict[str, Any]:
    keys = (
        "id",
        "job_id",
        "reason",
        "scheduled_for",
        "started_at",
        "finished_at",
        "status",
        "summary",
        "detail",
        "duration_s",
        "runner",
    )
    return {key: getattr(run, key) for key in keys}
