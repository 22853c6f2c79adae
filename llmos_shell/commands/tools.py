"""`llmos tools`: every tool the planner can call, with its arguments, risk and source."""

from __future__ import annotations

import argparse
import json

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = "List the tools the planner can call, with their arguments and risk."


def run(args: argparse.Namespace) -> int:
    """List every tool with its arguments, risk and where it came from."""
    from llmos_shell.ui.console import console, warn
    from llmos_shell.ui.render import tools_table

    app = base.make_app(args)
    warn(console(stderr=True), app.registry.warnings)
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
    console().print(tools_table(app.registry))
    return int(ExitStatus.OK)
