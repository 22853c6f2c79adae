"""Recall latency at 1k, 10k and 100k memories, and planning with memory against without.

    python bench/memory_latency.py [--sizes 1000,10000,100000] [--queries 50] [--plan 6]

A store in a temporary folder is filled to each size (facts, episodes and corrections in
the proportions a person's use leaves; their vectors are random, so that filling 100k does
not take an hour of embedding), and then asked what it adds to planning each of the dev
set's requests: the query embedded, the closest facts and the closest examples found, the
records read. p50 and p95 are over the queries. With --plan N, N requests are planned on the
embedded model (1 thread) with a 1k store and without memory, each warm, alternating.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.memory import records  # noqa: E402
from llmos_shell.memory.service import Memory  # noqa: E402
from llmos_shell.memory.store import LocalStore  # noqa: E402


def fill(store: LocalStore, size: int) -> None:
    """Add synthetic memories until the store holds `size`."""
    import numpy as np

    rng = np.random.default_rng(0)
    have = store.count()
    for start in range(have, size, 5000):
        rows = []
        for i in range(start, min(size, start + 5000)):
            kind = ("fact", "episode", "episode", "episode", "correction")[i % 5]
            call = {"tool": "list_directory", "arguments": {"path": f"/data/folder{i}"}}
            if kind == "fact":
                record = records.fact(f"note {i}: the folder for project {i} is /data/folder{i}")
            elif kind == "episode":
                record = records.episode(f"list the files in /data/folder{i}", [call])
            else:
                edited = {"tool": "run_shell", "arguments": {"command": f"ls -la /data/folder{i}"}}
                record = records.correction(f"show /data/folder{i}", call, edited)
            vector = rng.standard_normal(384).astype(np.float32)
            rows.append((record, (vector / np.linalg.norm(vector)).tobytes()))
        store.ledger.put(rows)
        store.index.sync()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--plan", type=int, default=0)
    args = parser.parse_args()
    from llmos_shell.retrieval.embeddings import shared_embedder

    requests = [
        json.loads(line)["request"]
        for line in (HERE / "data" / "plan_dev.jsonl").read_text().splitlines()
        if line.strip()
    ][: args.queries]
    work = Path(tempfile.mkdtemp(prefix="memory-latency-"))
    store = LocalStore(work / "memory", shared_embedder())
    memory = Memory(store)
    memory.remember("my projects are in ~/code")
    for size in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        fill(store, size)
        filled = time.perf_counter() - started
        memory.for_plan("warm up")
        times = []
        for request in requests:
            t0 = time.perf_counter()
            memory.for_plan(request)
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{store.count():>7} memories: recall p50 {statistics.median(times):.1f} ms, "
            f"p95 {percentile(times, 0.95):.1f} ms (filled in {filled:.0f} s)",
            flush=True,
        )
    if args.plan:
        plan_ratio(args.plan, requests)
    return 0


def plan_ratio(count: int, requests: list[str]) -> None:
    """Warm planning with a 1k memory store against without, on the embedded model."""
    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import embedded_model_path
    from llmos_shell.planning.planner import Planner
    from llmos_shell.planning.shortlist import default_shortlist
    from llmos_shell.registry import discover
    from llmos_shell.retrieval.embeddings import shared_embedder
    from llmos_shell.session import Session

    work = Path(tempfile.mkdtemp(prefix="memory-plan-"))
    registry = discover(None)
    backend = LlamaCppBackend(embedded_model_path(), context_size=4096, threads=1, cache_dir=work / "kv")
    planner = Planner(backend, registry, shortlist=default_shortlist(registry, cache_dir=work / "emb"), static_examples=False)
    planner.warm_up()
    store = LocalStore(work / "memory", shared_embedder())
    fill(store, 1000)
    memory = Memory(store)
    memory.remember("my projects are in ~/code")
    with_memory, without = Session(planner, registry, memory=memory), Session(planner, registry)
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for request in requests[:count]:
        for label, session in (("without", without), ("with", with_memory)):
            t0 = time.perf_counter()
            session.plan(request)
            timings[label].append(time.perf_counter() - t0)
    w, wo = statistics.median(timings["with"]), statistics.median(timings["without"])
    print(f"planning, median of {count}: with memory {w:.2f} s, without {wo:.2f} s, ratio {w / wo:.2f}x")
    backend.close()


if __name__ == "__main__":
    sys.exit(main())
