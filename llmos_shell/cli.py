"""The `llmos` command: argument parsing and the one error boundary.

Heavy libraries are imported only by the commands that need them, so `llmos --help` is fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell import __version__
from llmos_shell.errors import ExitStatus, LlmosError

if TYPE_CHECKING:
    from rich.console import Console

    from llmos_shell.app import App
    from llmos_shell.config import LoadedConfig
    from llmos_shell.hub import PullResult

SUBCOMMANDS = ("plan", "suggest", "tools", "config", "models", "doctor", "stats")
BACKENDS = ("llama-cpp", "transformers", "openai")
# Options that take a value, so the word after them is not a request or a subcommand.
_VALUED_OPTIONS = ("--model", "--backend", "--device")

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
  llmos models                   list the models on this machine and which one is in use
  llmos models use NAME          make a listed model (or a path) the default
  llmos models pull REPO [FILE]  download a model from the Hugging Face hub
  llmos doctor                   check the setup: config, model, backends, GPU, server, dirs
  llmos stats                    tokens per second, time and memory per backend and model
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a GGUF file, a model folder or a hub id (ORG/NAME) in the local cache; "
        "the openai backend's served model name (default: the embedded model)",
    )
    parser.add_argument(
        "--backend", choices=BACKENDS, help="the backend that runs the model (default: llama-cpp)"
    )
    parser.add_argument(
        "--device",
        metavar="DEV",
        help="the transformers backend's device: cuda, cuda:1, mps or cpu (default: the best)",
    )
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
    elif name == "models":
        parser.description = (
            "List the models on this machine: the embedded one, GGUF files in <data dir>/models "
            "and the model_dirs setting, and the Hugging Face cache. `use NAME` makes a listed "
            "model (or a path) the default in the config file, with the backend it needs "
            "(--backend picks another). `pull REPO [FILE]` downloads from the Hugging Face hub: "
            "one GGUF FILE into <data dir>/models, or a whole repository into the hub cache."
        )
        parser.add_argument("action", nargs="?", choices=("use", "pull"), help="use or pull")
        parser.add_argument("names", nargs="*", metavar="ARG", help="NAME, or REPO [FILE]")
    elif name == "doctor":
        parser.description = (
            "Check the setup, one line each: the config, the model in effect, the backends' "
            "libraries, the GPU, the openai server (for that backend), the dirs, the plugins. "
            "Exit status 0 when nothing failed, 1 otherwise."
        )
    elif name == "stats":
        parser.description = (
            "Tokens per second (prompt and generation), time, requests and peak memory per "
            "backend and model, today and in all, from the usage each finished command recorded."
        )
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
            "models": cmd_models,
            "doctor": cmd_doctor,
            "stats": cmd_stats,
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
        if word in _VALUED_OPTIONS:
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        return i if word in SUBCOMMANDS else None
    return None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line."""
    return {key: getattr(args, key, None) for key in ("model", "backend", "device")}


def make_app(args: argparse.Namespace) -> App:
    """Load the configuration (command line overrides first) and build the app."""
    from llmos_shell.app import App
    from llmos_shell.config import load_config

    config = load_config(overrides=_overrides(args))
    app = App(config=config, debug=args.debug)
    return app


@contextlib.contextmanager
def _opened_app(args: argparse.Namespace) -> Iterator[App]:
    """The app for one command; closing it records the model's usage and frees it."""
    app = make_app(args)
    try:
        yield app
    finally:
        app.close()
        if app.usage_error:
            _console(stderr=True).print(
                f"warning: {app.usage_error}", style="yellow", markup=False, soft_wrap=True
            )


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _warn(app: App, console: Console) -> None:
    for warning in (*app.config.warnings, *app.registry.warnings):
        console.print(f"[yellow]warning: {warning}[/]", highlight=False, markup=True)


def cmd_request(args: argparse.Namespace) -> int:
    """Plan and run one request, then exit with a code that says how it went."""
    with _opened_app(args) as app:
        return _run_request(app, args)


def _run_request(app: App, args: argparse.Namespace) -> int:
    from llmos_shell.policy import PolicyOptions
    from llmos_shell.render import ConsoleEvents
    from llmos_shell.session import SilentEvents, deny_all

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
    with _opened_app(args) as app:
        return _run_plan(app, args)


def _run_plan(app: App, args: argparse.Namespace) -> int:
    from llmos_shell.render import format_call

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
    with _opened_app(args) as app:
        return _run_suggest(app, args)


def _run_suggest(app: App, args: argparse.Namespace) -> int:
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


def cmd_models(args: argparse.Namespace) -> int:
    """List the models on this machine, make one the default, or download one."""
    from llmos_shell.config import load_config

    config = load_config(overrides=_overrides(args))
    names: list[str] = args.names
    if args.action is None:
        if names:
            _error(f"unexpected {names[0]!r}; did you mean `llmos models use {names[0]}`?")
            return int(ExitStatus.USAGE)
        return _list_models(config, args)
    if args.action == "use":
        if len(names) != 1:
            _error("say which model: llmos models use NAME (a name from `llmos models`, or a path)")
            return int(ExitStatus.USAGE)
        return _use_model(config, args, names[0])
    if not 1 <= len(names) <= 2:
        _error("say what to download: llmos models pull REPO [FILE], e.g. ORG/NAME-GGUF model.gguf")
        return int(ExitStatus.USAGE)
    return _pull_model(config, args, names[0], names[1] if len(names) > 1 else None)


def _list_models(config: LoadedConfig, args: argparse.Namespace) -> int:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from llmos_shell.catalog import list_models, searched_places
    from llmos_shell.usage import human_size

    entries = list_models(config)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return int(ExitStatus.OK)
    console = _wide_console()
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("", width=1)
    table.add_column("name", overflow="fold", min_width=16)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("quant", no_wrap=True)
    table.add_column("context", justify="right")
    table.add_column("backends")
    table.add_column("from", min_width=8)
    for entry in entries:
        table.add_row(
            "[bold green]*[/]" if entry.in_use else "",
            f"[bold]{escape(entry.name)}[/]" if entry.in_use else escape(entry.name),
            human_size(entry.size_bytes),
            escape(entry.quantization or "—"),
            str(entry.context_length or "—"),
            " ".join(entry.backends),
            "[red]unusable[/]" if entry.error else escape(entry.source),
        )
    console.print(table)
    for entry in entries:
        if entry.error:
            console.print(f"[red]{escape(entry.name)}: {escape(entry.error)}[/]")
    settings = config.settings
    in_use = next((e for e in entries if e.in_use), None)
    if settings.backend == "openai":
        console.print(
            f"backend openai: the model is the one {escape(settings.base_url)} serves "
            f"({escape(settings.model or 'its default')})"
        )
    elif in_use is not None:
        console.print(f"* in use: {escape(in_use.name)} on {settings.backend}")
    console.print("[dim]change it with: llmos models use NAME[/]")
    console.print(f"[dim]searched: {escape('; '.join(searched_places(config)))}[/]")
    return int(ExitStatus.OK)


def _wide_console() -> Console:
    """A console for tables: as wide as the terminal, or unwrapped when output is piped."""
    console = _console()
    if not console.is_terminal:
        console.width = 200
    return console


def _use_model(config: LoadedConfig, args: argparse.Namespace, name: str) -> int:
    from llmos_shell.catalog import backend_for, find_model
    from llmos_shell.config_file import set_top_level_strings
    from llmos_shell.errors import ModelNotFoundError

    entry = find_model(config, name)
    if entry.error:
        raise ModelNotFoundError(
            f"{entry.name} cannot be used: {entry.error}; download it again or pick another "
            "model from `llmos models`"
        )
    current = config.settings.backend
    if config.sources.get("backend") == "command line":
        # --backend here names the backend to write, not a one-off override.
        backend = backend_for(entry, current, requested=args.backend)
    else:
        backend = backend_for(entry, current)
    values = {"model": entry.setting}
    if backend != current or config.sources.get("backend") == "command line":
        values["backend"] = backend
    config_file = config.paths.config_file
    set_top_level_strings(config_file, values)
    if args.json:
        print(json.dumps({**values, "config_file": str(config_file)}))
    else:
        written = " and ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
        print(f"{written} written to {config_file}")
        print(f"now using {entry.name} on {backend}")
    err = _console(stderr=True)
    for key in values:
        source = config.sources.get(key, "")
        if source.startswith("environment"):
            err.print(f"[yellow]warning: {source} is set and wins over the file; unset it[/]")
    return int(ExitStatus.OK)


def _pull_model(
    config: LoadedConfig, args: argparse.Namespace, repo: str, filename: str | None
) -> int:
    from llmos_shell import hub
    from llmos_shell.catalog import downloads_dir, hf_hub_cache

    hub.check_repo(repo)
    if filename is None:
        filename = hub.pick_gguf(repo, hub.list_repo_files(repo))
    if filename is None:
        result = hub.pull_repo(repo, hf_hub_cache())
    else:
        hub.check_filename(filename)
        results = [
            _pull_with_progress(repo, part, downloads_dir(config), args.json)
            for part in hub.split_parts(filename)
        ]
        result = results[0]
    if args.json:
        print(json.dumps({"name": result.name, "path": str(result.path)}))
    else:
        state = "already there" if result.already_there else "downloaded"
        print(f"{state}: {result.path}")
        print(f"make it the default with: llmos models use {result.name}")
    return int(ExitStatus.OK)


def _pull_with_progress(repo: str, filename: str, dest_dir: Path, quiet: bool) -> PullResult:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from llmos_shell.hub import pull_file

    console = _console(stderr=True)
    if quiet or not console.is_terminal:  # a bar only where someone watches it
        return pull_file(repo, filename, dest_dir)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(filename.rsplit("/", 1)[-1], total=None)

        def on_progress(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        return pull_file(repo, filename, dest_dir, on_progress=on_progress)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the setup, one line per check, with the fix for each problem."""
    from rich.markup import escape

    from llmos_shell.doctor import Level, exit_code, run_checks

    checks = run_checks(_overrides(args))
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2))
        return exit_code(checks)
    console = _console()
    styles = {Level.OK: "green", Level.WARN: "yellow", Level.FAIL: "bold red"}
    for check in checks:
        line = f"[{styles[check.level]}]{check.level.value:<4}[/]  {escape(check.name):<20} "
        line += escape(check.detail)
        if check.fix and check.level is not Level.OK:
            line += f" [dim]→ fix:[/] {escape(check.fix)}"
        console.print(line, soft_wrap=True)
    fails = sum(c.level is Level.FAIL for c in checks)
    warns = sum(c.level is Level.WARN for c in checks)
    console.print(f"{fails} failed, {warns} warnings, {len(checks) - fails - warns} ok")
    return exit_code(checks)


def cmd_stats(args: argparse.Namespace) -> int:
    """Per backend and model: tokens per second, time, requests and memory, from usage.jsonl."""
    import datetime as dt

    from rich.markup import escape

    from llmos_shell.config import Paths
    from llmos_shell.usage import aggregate, read_usage, totals_lines, usage_log

    path = usage_log(Paths.from_env().state_dir)
    records, warnings = read_usage(path)
    err = _console(stderr=True)
    for warning in warnings:
        err.print(f"[yellow]warning: {escape(warning)}[/]", soft_wrap=True)
    today = [t.to_json() for t in aggregate(records, on=dt.date.today())]
    all_time = [t.to_json() for t in aggregate(records)]
    if args.json:
        print(json.dumps({"file": str(path), "today": today, "all_time": all_time}, indent=2))
        return int(ExitStatus.OK)
    if not records:
        print(f"No usage recorded yet in {path}; each command that used a model adds to it.")
        return int(ExitStatus.OK)
    out: list[str] = []
    for title, rows in (("today", today), ("all time", all_time)):
        if rows:
            out.append(f"{title}:")
            out.extend(line for row in rows for line in totals_lines(row))
            out.append("")
    print("\n".join(out).rstrip())
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
