"""`llmos models`: list the models on this machine, make one the default, or pull one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus
from llmos_shell.ui.console import console, error_line, wide_console

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig

DESCRIPTION = (
    "List the models on this machine: the embedded one, GGUF files and model folders in "
    "the Hugging Face cache (shared with transformers and llama-cpp-python), in the "
    "model_dirs setting and in <data dir>/models. `use NAME` makes a listed model (or a "
    "path) the default in the config file, with the backend it needs (--backend picks "
    "another). `pull REPO [FILE]` downloads from the Hugging Face hub into its cache: one "
    "GGUF FILE (every part of a split one), or a whole repository."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`use NAME` or `pull REPO [FILE]`; nothing lists."""
    parser.add_argument("action", nargs="?", choices=("use", "pull"), help="use or pull")
    parser.add_argument("names", nargs="*", metavar="ARG", help="NAME, or REPO [FILE]")


def run(args: argparse.Namespace) -> int:
    """List the models on this machine, make one the default, or download one."""
    from llmos_shell.config import load_config

    config = load_config(overrides=base.overrides(args))
    names: list[str] = args.names
    if args.action is None:
        if names:
            error_line(f"unexpected {names[0]!r}; did you mean `llmos models use {names[0]}`?")
            return int(ExitStatus.USAGE)
        return _list_models(config, args)
    if args.action == "use":
        if len(names) != 1:
            error_line(
                "say which model: llmos models use NAME (a name from `llmos models`, or a path)"
            )
            return int(ExitStatus.USAGE)
        return _use_model(config, args, names[0])
    if not 1 <= len(names) <= 2:
        error_line(
            "say what to download: llmos models pull REPO [FILE], e.g. ORG/NAME-GGUF model.gguf"
        )
        return int(ExitStatus.USAGE)
    return _pull_model(config, args, names[0], names[1] if len(names) > 1 else None)


def _list_models(config: LoadedConfig, args: argparse.Namespace) -> int:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from llmos_shell.models.catalog import list_models, searched_places
    from llmos_shell.vocabulary.units import human_size

    entries = list_models(config)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return int(ExitStatus.OK)
    out = wide_console()
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
    out.print(table)
    for entry in entries:
        if entry.error:
            out.print(f"[red]{escape(entry.name)}: {escape(entry.error)}[/]")
    settings = config.settings
    in_use = next((e for e in entries if e.in_use), None)
    if settings.backend == "openai":
        out.print(
            f"backend openai: the model is the one {escape(settings.base_url)} serves "
            f"({escape(settings.model or 'its default')})"
        )
    elif in_use is not None:
        out.print(f"* in use: {escape(in_use.name)} on {settings.backend}")
        if in_use.source == "embedded":
            from llmos_shell.models.advice import advice_lines

            for line in advice_lines():
                out.print(escape(line), soft_wrap=True)
    out.print("[dim]change it with: llmos models use NAME[/]")
    out.print(f"[dim]searched: {escape('; '.join(searched_places(config)))}[/]")
    return int(ExitStatus.OK)


def _use_model(config: LoadedConfig, args: argparse.Namespace, name: str) -> int:
    from llmos_shell.config.file import set_top_level_strings
    from llmos_shell.errors import ModelNotFoundError
    from llmos_shell.models.catalog import backend_for, find_model

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
    err = console(stderr=True)
    for key in values:
        source = config.sources.get(key, "")
        if source.startswith("environment"):
            err.print(f"[yellow]warning: {source} is set and wins over the file; unset it[/]")
    return int(ExitStatus.OK)


def _pull_model(
    config: LoadedConfig, args: argparse.Namespace, repo: str, filename: str | None
) -> int:
    from llmos_shell.models import hub
    from llmos_shell.models.catalog import downloads_dir
    from llmos_shell.models.locate import hf_hub_cache

    hub.check_repo(repo)
    # A bar (and the library's retry warnings) only where someone watches them.
    progress = not args.json and console(stderr=True).is_terminal
    if filename is None:
        filename = hub.pick_gguf(repo, hub.repo_files(repo))
    if filename is None:
        result = hub.pull_repo(repo, hf_hub_cache(), progress=progress)
    else:
        hub.check_filename(filename)
        # A file pulled into <data dir>/models before pulls went to the hub cache.
        earlier = downloads_dir(config) / Path(filename).name
        if earlier.is_file():
            result = hub.PullResult(path=earlier, name=earlier.name, already_there=True)
        else:
            parts = hub.split_parts(filename)
            results = [
                hub.pull_file(repo, part, hf_hub_cache(), progress=progress) for part in parts
            ]
            result = results[0]
    if args.json:
        print(json.dumps({"name": result.name, "path": str(result.path)}))
    else:
        state = "already there" if result.already_there else "downloaded"
        print(f"{state}: {result.path}")
        print(f"make it the default with: llmos models use {result.name}")
    return int(ExitStatus.OK)
