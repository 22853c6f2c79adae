"""False refusals: requests a built-in tool serves, answered as if none did.

    python bench/refusals.py [--model PATH] [--limit N] [--threads N] [--out FILE]

Each item of `bench/data/refusals_dev.jsonl` is a request of one of three kinds:

  tool          a built-in tool serves it (`tools` lists the right ones), in varied wording
  knowledge     a question of general knowledge ("what is a symlink?")
  out_of_scope  something no tool here does ("book me a flight to paris")

Each is taken as the shell takes a typed request: a plain automation ("remind me in 20
minutes to stretch") goes to the automation path, anything else is planned by the session
(`dry_run`: the first call is planned, nothing runs). Scores:

  false refusals    tool requests that got no call and no automation
  right tool        tool requests planned with one of their tools (or as an automation
                    where `schedule` is one)
  knowledge marked  knowledge questions answered and marked as general knowledge
  out of scope      refused honestly (no call, no automation), and how many of those
                    refusals name a closest tool

With `--no-model` no model is loaded: a request gets a call where the shortlist allows only
calls (its best tool counted as the call) and an answer where it allows an answer. Today the
call-or-answer line leaves no band for the model to choose in, so the false refusals are the
same as with the model, save the few calls the resolver refuses; the right tool is then the
shortlist's best, not the model's choice, and knowledge answers are not judged.

To compare with the code before a change, run this file from a copy of that code (its
`bench/` folder): it imports the `llmos_shell` beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DATA = Path(__file__).resolve().parent / "data" / "refusals_dev.jsonl"
GENERAL_KNOWLEDGE = "General knowledge"
NAMES_CLOSEST = "The closest:"


def outcome_of(app: Any, session: Any, request: str) -> dict[str, Any]:
    """How the shell takes `request`: an automation, a planned call, or an answer."""
    from llmos_shell.scheduler.phrases import looks_like_automation

    if looks_like_automation(request, app.now()):
        return {"route": "automation", "tool": "schedule", "answer": None}
    if session is None:  # --no-model: the shortlist's decision alone
        selection = app.shortlist.select(request)
        if selection.tools and not selection.allow_answer:
            return {"route": "call", "tool": selection.tools[0].name, "answer": None}
        # Whether the honest "I can't" would name a closest tool: before tools were named
        # only when close (`Selection.closest`), any scored tool was.
        close = getattr(selection, "closest", None)
        named = bool(selection.scores) if close is None else bool(close)
        return {"route": "answer", "tool": None, "answer": NAMES_CLOSEST if named else ""}
    outcome = session.run(request, dry_run=True)
    call = outcome.steps[0].call if outcome.steps else None
    if call is not None:
        return {"route": "call", "tool": call.tool, "arguments": call.arguments, "answer": None}
    if outcome.status.name == "TOOL_FAILED":  # the model's call was cut off or looped
        return {"route": "failed", "tool": None, "answer": None}
    return {"route": "answer", "tool": None, "answer": outcome.answer or ""}


def score(items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The counts the README quotes, by kind of request."""
    kinds = Counter(item["kind"] for item in items)
    tool_rows = [(i, r) for i, r in zip(items, rows, strict=True) if i["kind"] == "tool"]
    knowledge = [r for i, r in zip(items, rows, strict=True) if i["kind"] == "knowledge"]
    scope = [r for i, r in zip(items, rows, strict=True) if i["kind"] == "out_of_scope"]
    refused_scope = [r for r in scope if r["route"] == "answer"]
    return {
        "items": dict(kinds),
        "false_refusals": sum(r["route"] == "answer" for _, r in tool_rows),
        "right_tool": sum(r["tool"] in i["tools"] for i, r in tool_rows),
        "call_failed": sum(r["route"] == "failed" for _, r in tool_rows),
        "knowledge_marked": sum(
            r["route"] == "answer" and r["answer"].startswith(GENERAL_KNOWLEDGE) for r in knowledge
        ),
        "knowledge_called_a_tool": sum(r["route"] in ("call", "automation") for r in knowledge),
        "out_of_scope_refused": len(refused_scope),
        "out_of_scope_naming_a_closest_tool": sum(
            NAMES_CLOSEST in r["answer"] for r in refused_scope
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--kind", choices=("tool", "knowledge", "out_of_scope"), help="only these")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--no-model",
        action="store_true",
        help="no model: call or answer as the shortlist decides it, its best tool as the call",
    )
    parser.add_argument(
        "--out", type=Path, help="rows, one JSON a line; a run goes on where the file stops"
    )
    args = parser.parse_args(argv)

    items = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    done: dict[str, dict[str, Any]] = {}
    if args.out and args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done[row["id"]] = row
    todo = [item for item in items if item["id"] not in done]
    if args.kind:
        todo = [item for item in todo if item["kind"] == args.kind]
    if args.limit:
        todo = todo[: args.limit]
    if todo:
        run(todo, args, done)
    rows = [done[item["id"]] for item in items if item["id"] in done]
    summary = score([item for item in items if item["id"] in done], rows)
    for key, value in summary.items():
        print(f"{key:36} {value}")
    return 0


def run(items: list[dict[str, Any]], args: argparse.Namespace, done: dict[str, Any]) -> None:
    """Plan each item on one loaded model, writing each row as it comes."""
    from llmos_shell.app import App
    from llmos_shell.config import Paths, load_config

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = Paths(root / "config", root / "data", root / "state", root / "cache")
        config = load_config(paths, overrides={"model": args.model, "threads": args.threads})
        app = App(config=config)
        if args.no_model:
            from llmos_shell.planning.shortlist import default_shortlist

            app.shortlist = default_shortlist(app.registry)  # type: ignore[attr-defined]
        for item in items:
            session = None if args.no_model else app.session()
            if session is not None:
                session.conversation = None  # no turn before: each request stands alone
            row = {"id": item["id"], "kind": item["kind"]}
            row.update(outcome_of(app, session, item["request"]))
            done[item["id"]] = row
            if args.out:
                with args.out.open("a") as out:
                    out.write(json.dumps(row, default=str) + "\n")
            print(
                {"answer": ".", "call": "c", "automation": "a", "failed": "x"}[row["route"]],
                end="",
                flush=True,
            )
        print()
        app.close()


if __name__ == "__main__":
    raise SystemExit(main())
