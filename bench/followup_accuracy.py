"""Two-turn requests: follow-ups resolved, unrelated requests unaffected by the turn before.

    python bench/followup_accuracy.py [--model PATH] [--limit N] [--threads N] [--out FILE]
        [--variants always,llmos,continue]

Each pair of `bench/data/followups.jsonl` gives a first turn (its request, the call llmos
made, what it showed, and whether it ran, failed or was declined) and a second request with
the right plan for it. Both variants run on the same loaded model in this process:

  always  the turn before is always in the prompt, as an example pair (llmos before)
  llmos   what the shell does: the turn before only when the request reads as a follow-up,
          and then as context, with its values allowed
  continue  the same across processes: the first turn is kept in a state folder as a first
          `llmos` process keeps it, and a new `llmos --continue --json --dry-run` process
          plans the second request (one model load per request; use --limit)

Scores: follow-ups planned right; unrelated requests planned right; unrelated requests
planned exactly as without the turn before ("unaffected"); and whether a declined or failed
call came back on an unrelated request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from unseen_scoring import score  # noqa: E402

from llmos_shell.calls import ToolCall, TurnOutcome  # noqa: E402
from llmos_shell.errors import LlmosError  # noqa: E402
from llmos_shell.planning.planner import Planner, Transcript, Turn  # noqa: E402
from llmos_shell.vocabulary.references import reads_as_follow_up  # noqa: E402


def first_turn(item: dict[str, Any]) -> Turn:
    first = item["first"]
    call = (
        ToolCall(first["call"]["tool"], first["call"].get("arguments") or {})
        if first.get("call")
        else None
    )
    shown = (first["answer"],) if first.get("answer") and first["outcome"] == "ok" else ()
    return Turn(
        first["request"],
        call,
        first.get("answer"),
        shown,
        TurnOutcome(first["outcome"] if call else "answered"),
    )


class PairPlanner:
    """Plans the second request of a pair under one variant."""

    def __init__(self, planner: Planner, variant: str) -> None:
        self.planner = planner
        self.variant = variant

    def plan(self, request: str, history: tuple[Turn, ...]) -> dict[str, Any] | None:
        if self.variant == "llmos" and not reads_as_follow_up(request):
            history = ()
        transcript = Transcript(request, history=history)
        try:
            action = self.planner.next_action(transcript)
        except LlmosError as exc:
            return {"tool": "<error>", "arguments": {"error": str(exc)}}
        return action.call.to_json() if action.call else None


class ProcessPlanner:
    """Plans the second request in a new `llmos --continue` process, as a person's next
    command would, the first turn kept in the state folder as `llmos` keeps it."""

    variant = "continue"

    def __init__(self, paths: Any, model: str | None, threads: int | None) -> None:
        from llmos_shell.memory.conversations import ConversationStore

        self.store = ConversationStore(paths.conversations_file)
        self.env = {
            **os.environ,
            "LLMOS_CONFIG_DIR": str(paths.config_dir),
            "LLMOS_DATA_DIR": str(paths.data_dir),
            "LLMOS_STATE_DIR": str(paths.state_dir),
            "LLMOS_CACHE_DIR": str(paths.cache_dir),
        }
        if threads:
            self.env["LLMOS_THREADS"] = str(threads)
        self.model = model

    def plan(self, request: str, history: tuple[Turn, ...]) -> dict[str, Any] | None:
        command = [sys.executable, "-m", "llmos_shell", "--json", "--dry-run", "--no-memory"]
        if self.model:
            command += ["--model", self.model]
        if history:
            self.store.save("bench", history)
            command.append("--continue")
        proc = subprocess.run(
            [*command, "--", request],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        try:
            steps = json.loads(proc.stdout)["steps"]
        except (ValueError, KeyError):
            return {"tool": "<error>", "arguments": {"error": proc.stderr.strip()[-300:]}}
        return {"tool": steps[0]["tool"], "arguments": steps[0]["arguments"]} if steps else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--variants", default="always,llmos")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from llmos_shell.app import App
    from llmos_shell.config import Paths, load_config

    items = [
        json.loads(line)
        for line in (HERE / "data" / "followups.jsonl").read_text().splitlines()
        if line.strip()
    ]
    if args.limit:
        items = items[: args.limit]
    results: dict[str, Any] = {"items": len(items), "variants": {}}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = Paths(root / "config", root / "data", root / "state", root / "cache")
        app = App(
            config=load_config(paths, overrides={"model": args.model, "threads": args.threads})
        )
        specs = {t.name: {"type": "function", "function": t.definition()} for t in app.registry}
        for variant in args.variants.split(","):
            runner: PairPlanner | ProcessPlanner
            if variant == "continue":
                runner = ProcessPlanner(paths, args.model, args.threads)
            else:
                planner = app.planner_for(app.registry)
                planner.turns_as_context = variant == "llmos"
                runner = PairPlanner(planner, variant)
            rows = []
            for item in items:
                history = (first_turn(item),)
                got = runner.plan(item["second"]["request"], history)
                _, right_call = score(got, item["second"]["expect"], specs)
                row = {"id": item["id"], "kind": item["kind"], "got": got, "right": right_call}
                if item["kind"] == "unrelated":
                    alone = runner.plan(item["second"]["request"], ())
                    row["unaffected"] = got == alone
                    first = item["first"].get("call")
                    row["replayed"] = bool(
                        first
                        and item["first"]["outcome"] != "ok"
                        and got is not None
                        and got.get("tool") == first["tool"]
                        and got.get("arguments") == first.get("arguments")
                    )
                rows.append(row)
                print("+" if right_call else "-", end="", flush=True)
            print()
            follow = [r for r in rows if r["kind"] == "follow-up"]
            other = [r for r in rows if r["kind"] == "unrelated"]
            summary = {
                "follow_ups_right": sum(r["right"] for r in follow) / max(len(follow), 1),
                "unrelated_right": sum(r["right"] for r in other) / max(len(other), 1),
                "unrelated_unaffected": sum(r["unaffected"] for r in other) / max(len(other), 1),
                "declined_or_failed_replayed": sum(r["replayed"] for r in other),
                "rows": rows,
            }
            results["variants"][variant] = summary
            print(
                f"{variant:6} follow-ups right {summary['follow_ups_right']:6.1%}  unrelated right "
                f"{summary['unrelated_right']:6.1%}  unaffected {summary['unrelated_unaffected']:6.1%}  "
                f"declined/failed calls replayed {summary['declined_or_failed_replayed']}",
                flush=True,
            )
        app.close()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
