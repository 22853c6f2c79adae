"""`llmos stats`: tokens per second, time, requests and memory per backend and model."""

from __future__ import annotations

import argparse
import json

from llmos_shell.errors import ExitStatus
from llmos_shell.ui.console import console, warn

DESCRIPTION = (
    "Tokens per second (prompt and generation), time, requests and peak memory per "
    "backend and model, today and in all, from the usage each finished command recorded."
)


def run(args: argparse.Namespace) -> int:
    """Per backend and model: tokens per second, time, requests and memory, from usage.jsonl."""
    import datetime as dt

    from llmos_shell.backends.usage import aggregate, read_usage, totals_lines, usage_log
    from llmos_shell.config import Paths

    path = usage_log(Paths.from_env().state_dir)
    records, warnings = read_usage(path)
    warn(console(stderr=True), warnings)
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
