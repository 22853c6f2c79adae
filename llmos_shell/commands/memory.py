"""`llmos memory`: add, list, search, forget, export, import and clear what llmos remembers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from llmos_shell.errors import ExitStatus

if TYPE_CHECKING:
    from llmos_shell.memory.service import Memory

DESCRIPTION = (
    "What llmos remembers: facts you state, requests that worked (episodes) and calls you "
    "corrected. Export writes JSON Lines, one memory a line; import restores them, ids kept."
)
KINDS = ("fact", "episode", "correction")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions and their arguments."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="remember a fact or preference")
    add.add_argument("text", nargs="+", help="the fact, e.g. my projects are in ~/code")
    listing = actions.add_parser("list", help="list the memories, oldest first")
    listing.add_argument("--kind", choices=KINDS, help="only memories of this kind")
    search = actions.add_parser("search", help="the memories closest to some words")
    search.add_argument("query", nargs="+", help="what to look for")
    search.add_argument("--limit", type=int, default=5, help="how many to show (default 5)")
    forget = actions.add_parser("forget", help="forget one memory by its id")
    forget.add_argument("id", help="the memory's id, as `list` shows it")
    export = actions.add_parser("export", help="write every memory as JSON Lines")
    export.add_argument("file", nargs="?", help="the file to write (default: standard output)")
    imported = actions.add_parser("import", help="add the memories of an exported file")
    imported.add_argument("file", help="a JSON Lines file written by export (- for stdin)")
    clear = actions.add_parser("clear", help="forget everything")
    clear.add_argument("--yes", action="store_true", help="do not ask first")
    for sub in (add, listing, search, forget, export, imported, clear):
        sub.add_argument("--json", action="store_true", help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    """Open the memory the settings name and do the action."""
    from llmos_shell.commands.base import overrides
    from llmos_shell.config import load_config
    from llmos_shell.errors import ConfigError
    from llmos_shell.memory.service import open_memory

    config = load_config(overrides=overrides(args))
    memory = open_memory(config)
    if memory is None:
        raise ConfigError(
            "memory is off (--no-memory, or memory = false in the settings); "
            "turn it on to use `llmos memory`"
        )
    try:
        code = ACTIONS[args.action](memory, args)
    finally:
        for line in memory.pop_notices():
            print(f"llmos: {line}", file=sys.stderr)
        memory.close()
    return code


def _print_records(records: list[Any], as_json: bool, scores: list[float] | None = None) -> None:
    if as_json:
        rows = [r.to_json() for r in records]
        for row, score in zip(rows, scores or [], strict=False):
            row["score"] = round(score, 3)
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not records:
        print("No memories.")
        return
    for i, record in enumerate(records):
        shown = f"  ({scores[i]:.2f})" if scores else ""
        print(f"{record.id}  {record.kind:<10} {record.created[:10]}  {record.short(90)}{shown}")


def _add(memory: Memory, args: argparse.Namespace) -> int:
    record = memory.remember(" ".join(args.text), source="llmos memory add")
    if args.json:
        print(json.dumps(record.to_json(), ensure_ascii=False))
    else:
        print(f"Remembered {record.id}: {record.text}")
    return int(ExitStatus.OK)


def _list(memory: Memory, args: argparse.Namespace) -> int:
    _print_records(memory.records(args.kind), args.json)
    return int(ExitStatus.OK)


def _search(memory: Memory, args: argparse.Namespace) -> int:
    hits = memory.recall(" ".join(args.query), limit=max(args.limit, 1))
    _print_records([h.record for h in hits], args.json, [h.score for h in hits])
    return int(ExitStatus.OK)


def _forget(memory: Memory, args: argparse.Namespace) -> int:
    from llmos_shell.errors import ConfigError

    if memory.store.get(args.id) is None:
        raise ConfigError(f"there is no memory {args.id!r}; `llmos memory list` shows the ids")
    memory.store.forget([args.id])
    print(json.dumps({"forgotten": args.id}) if args.json else f"Forgot {args.id}.")
    return int(ExitStatus.OK)


def _export(memory: Memory, args: argparse.Namespace) -> int:
    from llmos_shell.memory.transfer import export_records

    if not args.file or args.file == "-":
        export_records(memory.store, sys.stdout)
        return int(ExitStatus.OK)
    from pathlib import Path

    path = Path(args.file).expanduser()
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            count = export_records(memory.store, handle)
        tmp.replace(path)
    except OSError as exc:
        from llmos_shell.errors import ConfigError

        raise ConfigError(f"cannot write {path} ({exc.strerror}); pick another file") from None
    print(f"Exported {count} memories to {path}.", file=sys.stderr)
    return int(ExitStatus.OK)


def _import(memory: Memory, args: argparse.Namespace) -> int:
    from llmos_shell.errors import ConfigError
    from llmos_shell.memory.transfer import import_records

    if args.file == "-":
        report = import_records(memory.store, sys.stdin, name="stdin")
    else:
        try:
            with open(args.file, encoding="utf-8") as handle:
                report = import_records(memory.store, handle, name=args.file)
        except OSError as exc:
            raise ConfigError(f"cannot read {args.file} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"{args.file} is not UTF-8 text; give a file written by export"
            ) from None
    for error in report.errors:
        print(f"llmos: {error}", file=sys.stderr)
    summary = {"added": report.added, "skipped": report.skipped, "rejected": len(report.errors)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"Imported {report.added} memories; {report.skipped} were there already, "
            f"{len(report.errors)} lines rejected."
        )
    return int(ExitStatus.ERROR if report.errors else ExitStatus.OK)


def _clear(memory: Memory, args: argparse.Namespace) -> int:
    count = memory.store.count()
    if not args.yes:
        if not sys.stdin.isatty():
            print("llmos: clear forgets all memories; pass --yes to confirm", file=sys.stderr)
            return int(ExitStatus.DECLINED)
        answer = input(f"Forget all {count} memories? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was forgotten.")
            return int(ExitStatus.DECLINED)
    removed = memory.store.clear()
    print(json.dumps({"forgotten": removed}) if args.json else f"Forgot {removed} memories.")
    return int(ExitStatus.OK)


ACTIONS = {
    "add": _add,
    "list": _list,
    "search": _search,
    "forget": _forget,
    "export": _export,
    "import": _import,
    "clear": _clear,
}
