"""`llmos daemon`: start, stop, show or install the one scheduler that runs the automations."""

from __future__ import annotations

import argparse
import json
import os
import sys

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "The daemon runs the automations: one per job store (a second one refuses to start, since "
    "two would run every job twice). `start` runs it in the background with a pid file and a "
    "log file in the state dir; `stop` lets running calls finish or cancel, then stops it; "
    "`status` says whether it runs; `install` writes a systemd user unit (`--print` shows it); "
    "`run` runs it in the foreground, as the unit does."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """start, stop, status, install [--print], run."""
    parser.add_argument(
        "action", choices=("start", "stop", "status", "install", "run"), help="what to do"
    )
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="install: print the unit, write nothing",
    )


def run(args: argparse.Namespace) -> int:
    """Do what was asked of the daemon."""
    from llmos_shell.config import load_config
    from llmos_shell.scheduler import daemon
    from llmos_shell.scheduler.store import shown_url
    from llmos_shell.ui.console import console

    out = console()
    if args.action == "run":
        return _run_foreground(args)
    config = load_config(overrides=base.overrides(args))
    files = daemon.DaemonFiles.of(config)
    if args.action == "start":
        pid = daemon.start_background(config)
        out.print(f"llmos daemon started (pid {pid}); its log is {files.log_file}")
        return int(ExitStatus.OK)
    if args.action == "stop":
        pid = daemon.stop_daemon(config)
        out.print(f"llmos daemon (pid {pid}) stopped.")
        return int(ExitStatus.OK)
    if args.action == "status":
        status = daemon.daemon_status(config)
        if args.json:
            print(json.dumps(status.to_json(), indent=2))
        elif status.running:
            holder = status.holder or {}
            out.print(
                f"llmos daemon is running: pid {holder.get('pid', status.pid)} on {holder.get('host', '?')} "
                f"since {holder.get('since', '?')}, store {shown_url(status.url)}, log {files.log_file}"
            )
        else:
            out.print(
                f"llmos daemon is not running (store {shown_url(status.url)}); start it with `llmos daemon start`."
            )
        return int(ExitStatus.OK if status.running else ExitStatus.ERROR)
    unit = daemon.systemd_unit()
    if args.print_only:
        print(unit, end="")
        return int(ExitStatus.OK)
    path = daemon.systemd_unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit, encoding="utf-8")
    out.print(f"Wrote {path}. Start it now and at every login with:")
    out.print("  systemctl --user daemon-reload && systemctl --user enable --now llmos.service")
    return int(ExitStatus.OK)


def _run_foreground(args: argparse.Namespace) -> int:
    import logging

    from llmos_shell.scheduler.daemon import Daemon

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with base.opened_app(args) as app:
        code = Daemon(app).run()
    # Every run is logged and the lock is free; a tool thread still inside a call that was
    # cancelled (a shell command until its own time limit) must not keep the process alive.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
