"""`llmos rules`: the standing permissions kept by `[a]lways` at a `Run it?` prompt."""

from __future__ import annotations

import argparse
import json

from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "The rules that approve calls of one shape without asking (kept by answering [a]lways at "
    "a Run it? prompt). A rule approves at most writes and network use, only for your own "
    "requests; `list` shows them numbered, `remove N` takes one back."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """list | remove N."""
    actions = parser.add_subparsers(dest="action")
    actions.add_parser("list", help="show the rules, numbered")
    remove = actions.add_parser("remove", help="remove rule N")
    remove.add_argument("number", type=int, help="the rule's number in `llmos rules list`")


def run(args: argparse.Namespace) -> int:
    """List or remove rules; a damaged rules file is one line saying how to fix it."""
    from llmos_shell.config import Paths
    from llmos_shell.safety.rules import RulesError, RuleStore
    from llmos_shell.ui.console import error_line

    store = RuleStore(Paths.from_env().config_dir)
    try:
        if getattr(args, "action", None) == "remove":
            removed = store.remove(args.number)
            print(f"Removed rule {args.number}: {removed.describe()}")
            return int(ExitStatus.OK)
        rules = store.rules()
    except RulesError as exc:
        error_line(str(exc))
        return int(ExitStatus.ERROR)
    if args.json:
        print(json.dumps([r.to_json() for r in rules], ensure_ascii=False, indent=2))
    elif not rules:
        print("No rules yet: answer [a]lways at a Run it? prompt to keep one.")
    else:
        for number, rule in enumerate(rules, 1):
            print(f"{number:>3}  {rule.describe()}")
            print(f"     from: {rule.example}")
    return int(ExitStatus.OK)
