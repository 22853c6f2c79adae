"""The `llmos` command: argument parsing and the one error boundary.

Heavy libraries are imported only by the commands that need them, so `llmos --help` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmos_shell import __version__
from llmos_shell.errors import ExitStatus, LlmosError

if TYPE_CHECKING:
    from rich.console import Console

    from llmos_shell.app import App

SUBCOMMANDS = ("plan", "suggest", "tools", "config")

DESCRIPTION = """\
A natural-language shell for your own computer, on a local model.

  llmos                          start the interactive shell
  llmos "which processes use the most memory?"
                                 plan and run one request, then exit
  llmos plan --json "request"    print the planned calls, run nothing
  llmos suggest "request"        write one shell command, then run/edit/describe/copy it
  llmos plan --json -            JSON Lines in on stdin, one JSON object out per line
  llmos suggest --json -           (the same for commands)
  llmos tools                    list the tools and their risk
  llmos config                   show the settings and where each came from
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="GGUF model file (default: embedded)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and model timings")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def build_parser() -> argparse.ArgumentParser:
    """The parser for requests and global options (subcommands are parsed separately)."""
    parser = argparse.ArgumentParser(
        prog="llmos",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "request", nargs="*", help="a request in plain words; none starts the shell"
    )
    _common(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="approve writes without asking")
    parser.add_argument(
        "--yes-destructive",
        action="store_true",
        help="also approve destructive calls without asking (privileged ones always ask)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show the planned call and execute nothing"
    )
    parser.add_argument("--version", action="version", version=f"llmos {__version__}")
    return parser


def build_subparser(name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand."""
    parser = argparse.ArgumentParser(prog=f"llmos {name}")
    _common(parser)
    if name == "plan":
        parser.description = (
            "Print the calls a request would make, without running anything. With -, read "
            'JSON Lines from stdin: a JSON string or {"request": TEXT, "tools": [OpenAI tool '
            'specs]}; write {"calls": [...], "answer": TEXT_OR_NULL} for each line.'
        )
        parser.add_argument("request", nargs="+", help="the request, or - for JSON Lines on stdin")
    elif name == "suggest":
        parser.description = (
            "Write one shell command for a request, then run / edit / describe / copy / abort. "
            'With -, read JSON Lines from stdin: a JSON string or {"request": TEXT, "cwd": DIR}; '
            'write {"command": TEXT} or {"command": null, "error": TEXT} for each line.'
        )
        parser.add_argument("request", nargs="+", help="the request, or - for JSON Lines on stdin")
    elif name == "tools":
        parser.description = "List the tools the planner can call, with their arguments and risk."
    elif name == "config":
        parser.description = "Show the effective settings and where each one came from."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmos` console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        return _dispatch(args_list)
    except LlmosError as exc:
        _error(str(exc))
        if debug:
            raise
        return int(exc.exit_status)
    except KeyboardInterrupt:
        _error("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.OK)
    except Exception as exc:
        if debug:
            raise
        _error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and please report it)"
        )
        return int(ExitStatus.ERROR)


def _error(message: str) -> None:
    print(f"llmos: error: {message}", file=sys.stderr)


def _dispatch(argv: list[str]) -> int:
    index = _subcommand_index(argv)
    if index is not None:
        name = argv[index]
        args = build_subparser(name).parse_args(argv[:index] + argv[index + 1 :])
        commands = {
            "plan": cmd_plan,
            "suggest": cmd_suggest,
            "tools": cmd_tools,
            "config": cmd_config,
        }
        return commands[name](args)
    args = build_parser().parse_args(argv)
    if args.request:
        return cmd_request(args)
    return cmd_shell(args)


def _subcommand_index(argv: list[str]) -> int | None:
    """Where a subcommand name stands, if the first word that is not an option is one."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return None
        if word == "--model":
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return i if word in SUBCOMMANDS else None
    return None


def make_app(args: argparse.Namespace) -> App:
    """Load the configuration (command line overrides first) and build the app."""
    from llmos_shell.app import App
    from llmos_shell.config import load_config

    config = load_config(overrides={"model": getattr(args, "model", None)})
    app = App(config=config, debug=args.debug)
    return app


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _warn(app: App, console: Console) -> None:
    for warning in (*app.config.warnings, *app.registry.warnings):
        console.print(f"[yellow]warning: {warning}[/]", highlight=False, markup=True)


def cmd_request(args: argparse.Namespace) -> int:
    """Plan and run one request, then exit with a code that says how it went."""
    from llmos_shell.policy import PolicyOptions
    from llmos_shell.render import ConsoleEvents
    from llmos_shell.session import SilentEvents, deny_all

    app = make_app(args)
    err = _console(stderr=True)
    _warn(app, err)
    request = _joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    options = PolicyOptions(
        yes_writes=args.yes or args.yes_destructive, yes_destructive=args.yes_destructive
    )
    console = _console()
    if sys.stdin.isatty() and not args.json:
        from llmos_shell.repl.confirm import InteractiveConfirmer

        confirmer: Any = InteractiveConfirmer(console, _terminal_ask)
    else:
        confirmer = deny_all
    session = app.session(confirmer=confirmer, options=options)
    events = SilentEvents() if args.json else ConsoleEvents(console)
    outcome = session.run(request, events, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False, default=str))
    else:
        assert isinstance(events, ConsoleEvents)
        events.finish()
    if app.audit.last_error:
        err.print(f"[yellow]warning: {app.audit.last_error}[/]")
    if args.debug:
        _print_stats(app, err)
    return int(outcome.status.exit_status)


def _joined_request(args: argparse.Namespace) -> str | None:
    """The request words as one line; None (after saying so) when they are empty."""
    request = " ".join(args.request).strip()
    if not request:
        _error("the request is empty; type what you want in plain words")
        return None
    return request


def _terminal_ask(message: str, default: str) -> str:
    from prompt_toolkit import prompt

    return prompt(message, default=default)


def _print_stats(app: App, console: Console) -> None:
    stats = app.backend.stats
    console.print(
        f"[dim]{stats.requests} generations, {stats.prompt_tokens} prompt tokens "
        f"({stats.cached_tokens} reused), {stats.completion_tokens} generated, "
        f"prompt {stats.prompt_s:.2f} s, total {stats.total_s:.2f} s, load {stats.load_s:.2f} s[/]"
    )


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the planned calls for a request without running anything."""
    from llmos_shell.render import format_call

    app = make_app(args)
    _warn(app, _console(stderr=True))
    if args.request == ["-"]:
        from llmos_shell.batch import plan_batch

        plan_batch(app, sys.stdin, sys.stdout)
        return int(ExitStatus.OK)
    request = _joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    action = app.session().plan(request)
    calls = [action.call.to_json()] if action.call else []
    if args.json:
        print(json.dumps({"calls": calls, "answer": action.answer}, ensure_ascii=False))
    else:
        console = _console()
        if action.call:
            console.print(format_call(action.call), markup=False)
        else:
            console.print(action.answer or "", markup=False)
    return int(ExitStatus.OK)


def cmd_suggest(args: argparse.Namespace) -> int:
    """One shell command for a request: printed, or offered to run at a terminal."""
    app = make_app(args)
    _warn(app, _console(stderr=True))
    if args.request == ["-"]:
        from llmos_shell.batch import suggest_batch

        suggest_batch(app, sys.stdin, sys.stdout)
        return int(ExitStatus.OK)
    request = _joined_request(args)
    if request is None:
        return int(ExitStatus.USAGE)
    if args.json or not sys.stdin.isatty():
        command = app.suggester.suggest(request).command
        print(json.dumps({"command": command}) if args.json else command)
        return int(ExitStatus.OK)
    from llmos_shell.repl.suggest_ui import suggest_interactive

    return suggest_interactive(app, request, _console(), _terminal_ask)


def cmd_tools(args: argparse.Namespace) -> int:
    """List every tool with its arguments, risk and where it came from."""
    app = make_app(args)
    console = _console()
    _warn(app, _console(stderr=True))
    if args.json:
        rows = [
            {
                **item.definition(),
                "risk": item.risk.value,
                "reversible": item.reversible,
                "source": item.source,
                "examples": [e.request for e in item.examples],
            }
            for item in app.registry
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return int(ExitStatus.OK)
    from rich.markup import escape
    from rich.table import Table

    from llmos_shell.planner import signature
    from llmos_shell.render import RISK_STYLE

    table = Table(header_style="bold", show_lines=True)
    table.add_column("tool and what it does", overflow="fold")
    table.add_column("risk")
    table.add_column("source", overflow="fold")
    for item in app.registry:
        table.add_row(
            f"[bold]{escape(signature(item))}[/]\n{escape(item.description)}",
            f"[{RISK_STYLE[item.risk]}]{item.risk.value}[/]",
            escape(item.source),
        )
    console.print(table)
    return int(ExitStatus.OK)


def cmd_config(args: argparse.Namespace) -> int:
    """Show each setting, its value and where it came from, and the paths in use."""
    from llmos_shell.config import render_toml_value

    app = make_app(args)
    config = app.config
    values = config.settings.model_dump(mode="json")
    paths = {
        "config_file": str(config.paths.config_file),
        "plugin_dir": str(config.plugin_dir),
        "data_dir": str(config.paths.data_dir),
        "history_file": str(config.paths.history_file),
        "audit_log": str(config.paths.audit_log),
    }
    if args.json:
        print(
            json.dumps(
                {
                    "settings": {
                        k: {"value": v, "source": config.sources[k]} for k, v in values.items()
                    },
                    "paths": paths,
                    "warnings": list(config.warnings),
                },
                indent=2,
            )
        )
        return int(ExitStatus.OK)
    out = [f"# effective settings ({config.paths.config_file})"]
    for key, value in values.items():
        out.append(f"{key} = {render_toml_value(value)}  # {config.sources[key]}")
    out.append("")
    out.append("# paths")
    out.extend(f"# {key}: {value}" for key, value in paths.items())
    out.extend(f"# warning: {w}" for w in config.warnings)
    print("\n".join(out))
    return int(ExitStatus.OK)


def cmd_shell(args: argparse.Namespace) -> int:
    """Start the interactive shell."""
    from llmos_shell.policy import PolicyOptions
    from llmos_shell.repl.app import run_shell

    app = make_app(args)
    options = PolicyOptions(
        yes_writes=args.yes or args.yes_destructive, yes_destructive=args.yes_destructive
    )
    return run_shell(app, options=options)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
