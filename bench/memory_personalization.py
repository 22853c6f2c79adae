"""How often memory gives the plan the person expects, scored with and without it.

    python bench/memory_personalization.py [--threads 1] [--limit N] [--data FILE]

Each scenario of `bench/data/memory_personalization.jsonl` is a memory state (facts,
episodes, corrections), a request and the expected effect on the first planned call:
`contains` (an argument holds this path), `command` (run_shell runs exactly this), or
`unchanged` (memory that does not apply: the expected tool, and no memory shown). Every
scenario is planned on the same loaded model twice in the same run, with a fresh chromadb
store holding its memory state, and with no memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.calls import ToolCall  # noqa: E402
from llmos_shell.errors import TruncatedOutputError  # noqa: E402
from llmos_shell.memory import records  # noqa: E402
from llmos_shell.memory.service import Memory  # noqa: E402
from llmos_shell.memory.store import LocalStore  # noqa: E402
from llmos_shell.session import Session  # noqa: E402

DATA = HERE / "data" / "memory_personalization.jsonl"


def memory_records(state: list[dict[str, Any]]) -> list[records.MemoryRecord]:
    """The records of a scenario's memory state."""
    out = []
    for item in state:
        if item["kind"] == "fact":
            out.append(records.fact(item["text"]))
        elif item["kind"] == "episode":
            out.append(records.episode(item["request"], item["calls"]))
        else:
            out.append(records.correction(item["request"], item["planned"], item["edited"]))
    return out


def meets(expect: dict[str, Any], call: ToolCall | None, used: int) -> bool:
    """Whether the first planned call has the expected effect."""
    if "contains" in expect:
        return call is not None and expect["contains"] in json.dumps(call.arguments)
    if "command" in expect:
        return (
            call is not None
            and call.tool == "run_shell"
            and call.arguments.get("command") == expect["command"]
        )
    tool = call.tool if call else None
    return tool == expect.get("tool") and (used == 0 or not expect.get("unchanged"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help="scenarios (JSON Lines); bench/data/memory_wording.jsonl names the places in "
        "other words than the facts",
    )
    args = parser.parse_args()

    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import embedded_model_path
    from llmos_shell.planning.planner import Planner
    from llmos_shell.planning.shortlist import default_shortlist
    from llmos_shell.registry import discover
    from llmos_shell.retrieval.embeddings import shared_embedder

    items = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    items = items[: args.limit] if args.limit else items
    registry = discover(None)
    work = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    backend = LlamaCppBackend(
        embedded_model_path(), context_size=4096, threads=args.threads, cache_dir=work / "kv"
    )
    planner = Planner(
        backend,
        registry,
        shortlist=default_shortlist(registry, cache_dir=work / "emb"),
        static_examples=False,
    )
    planner.warm_up()
    score = {"with memory": 0, "without memory": 0}
    by_kind: dict[str, list[int]] = {}
    started = time.perf_counter()
    for number, item in enumerate(items):
        store = LocalStore(work / f"store-{number}", shared_embedder())
        store.add(memory_records(item["memory"]))
        memory = Memory(store)
        results = {}
        for label, session in (
            ("with memory", Session(planner, registry, memory=memory)),
            ("without memory", Session(planner, registry)),
        ):
            try:
                outcome = session.run(item["request"], dry_run=True)
                call = outcome.steps[0].call if outcome.steps else None
                used = len(outcome.memories)
            except TruncatedOutputError:
                call, used = None, 0
            ok = meets(item["expect"], call, used)
            score[label] += ok
            results[label] = (ok, call)
        store.close()
        kind = item["memory"][0]["kind"] if "unchanged" not in item["expect"] else "does not apply"
        by_kind.setdefault(kind, [0, 0, 0])
        by_kind[kind][0] += results["with memory"][0]
        by_kind[kind][1] += results["without memory"][0]
        by_kind[kind][2] += 1
        mark = "".join("+" if results[k][0] else "-" for k in ("with memory", "without memory"))
        print(f"{mark} {item['request']!r}: {results['with memory'][1]}", flush=True)
    total = len(items)
    print(f"\n{total} scenarios, {time.perf_counter() - started:.0f} s, {args.threads} thread(s)")
    for label, value in score.items():
        print(f"{label}: {value}/{total} = {100 * value / total:.1f}%")
    for kind, (with_, without, count) in by_kind.items():
        print(f"  {kind}: {with_}/{count} with, {without}/{count} without")
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
