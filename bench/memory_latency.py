"""Memory search at 100, 10k and 100k memories: the scan against chromadb's index, time and recall.

    python bench/memory_latency.py [--sizes 100,10000,100000] [--queries 50] [--no-index]
                                   [--oneshot N] [--plan N]

A store in a temporary folder is filled to each size (facts, episodes and corrections in the
proportions a person's use leaves; their vectors are random unit vectors, so that filling
100k does not take an hour of embedding). Each query is a stored vector with noise added, so
its source record is the right answer. For each size:

- scan: the records' vectors held in one matrix and searched exactly (what a store up to
  `INDEX_ABOVE` records does); "first" is a new process's first search (the matrix read from
  `scan.npz`; in brackets, with every row read from SQLite instead, as after the file is
  lost), "warm" the searches after it;
- index: chromadb's HNSW index built from the records, then searched; "first" includes
  importing chromadb and opening the folder (measured in a fresh process);
- recall@5: the share of the exact top 5 that the index also returns (the scan is exact),
  and hit@1: how often the noisy query's source record comes first;
- plan recall: what memory adds to planning a request (the query embedded, the closest facts
  and examples found and read), as the store does it at that size, p50 and p95.

With --oneshot N, `llmos plan --json` is run N times each with 1,000 memories stored and with
`--no-memory`, alternating, each a new process on 1 thread with a warm prefix cache; the
ratio of the medians is what memory adds to a one-shot request (target: at most 1.10x).
With --plan N, N requests are planned in one process with a 1k store and without memory.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.memory import records  # noqa: E402
from llmos_shell.memory.service import Memory  # noqa: E402
from llmos_shell.memory.store import LocalStore  # noqa: E402

DIMENSION = 384


def fill(store: LocalStore, size: int, seed: int = 0) -> None:
    """Add synthetic memories until the store holds `size` (the records only)."""
    import numpy as np

    rng = np.random.default_rng(seed)
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
            vector = rng.standard_normal(DIMENSION).astype(np.float32)
            rows.append((record, (vector / np.linalg.norm(vector)).tobytes()))
        store.ledger.put(rows)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def noisy_queries(store: LocalStore, count: int, seed: int = 1) -> list[tuple[str, object]]:
    """(source id, query vector): stored vectors with noise of about their own size."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = store.ledger.scan_rows()
    picked = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    out = []
    for i in picked:
        memory_id, _, blob = rows[int(i)]
        assert blob is not None
        vector = np.frombuffer(blob, dtype=np.float32) + 0.05 * rng.standard_normal(DIMENSION)
        out.append((memory_id, (vector / np.linalg.norm(vector)).astype(np.float32)))
    return out


FIRST_SEARCH = """
import sys, time, json
t0 = time.perf_counter()
from pathlib import Path
from llmos_shell.memory.store import LocalStore
from llmos_shell.retrieval.embeddings import shared_embedder
import numpy as np
store = LocalStore(Path(sys.argv[1]), shared_embedder(), index_above=int(sys.argv[2]))
t1 = time.perf_counter()
store.search(np.ones(384, dtype=np.float32) / 384 ** 0.5, kinds=["fact"], limit=5)
t2 = time.perf_counter()
print(json.dumps({"search": t2 - t1, "chromadb": "chromadb" in sys.modules}))
"""


def first_search_s(folder: Path, index_above: int) -> float:
    """A new process's first search of the store (embedder load not counted)."""
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_SEARCH, str(folder), str(index_above)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
        cwd=HERE.parent,
    )
    return float(json.loads(proc.stdout.splitlines()[-1])["search"])


def measure_size(
    store: LocalStore, size: int, queries: int, with_index: bool, requests: list[str]
) -> None:
    """Fill to `size`, then time the scan and the index and compare what they find."""
    started = time.perf_counter()
    fill(store, size)
    filled = time.perf_counter() - started
    asked = noisy_queries(store, queries)
    scan_rebuilt = first_search_s(store.folder, index_above=10**9)  # every row read, file written
    scan_first = first_search_s(store.folder, index_above=10**9)  # a new process: the file read
    scan_times, exact, hits = [], [], 0
    for source, vector in asked:
        t0 = time.perf_counter()
        found = store.scan.query(vector, kinds=None, limit=5)  # type: ignore[arg-type]
        scan_times.append((time.perf_counter() - t0) * 1000)
        exact.append([i for i, _ in found])
        hits += bool(found) and found[0][0] == source
    line = (
        f"{store.count():>7} memories (filled in {filled:.0f} s): scan first {scan_first * 1000:.0f} ms "
        f"({scan_rebuilt * 1000:.0f} ms reading every row), "
        f"warm p50 {statistics.median(scan_times):.1f} ms, hit@1 {hits / len(asked):.0%}"
    )
    if with_index:
        t0 = time.perf_counter()
        store.index.sync()
        built = time.perf_counter() - t0
        index_first = first_search_s(store.folder, index_above=0)
        index_times, overlap, index_hits = [], 0, 0
        for (source, vector), truth in zip(asked, exact, strict=True):
            t0 = time.perf_counter()
            found = store.index.query(vector, kinds=None, limit=5)  # type: ignore[arg-type]
            index_times.append((time.perf_counter() - t0) * 1000)
            overlap += len({i for i, _ in found} & set(truth))
            index_hits += bool(found) and found[0][0] == source
        line += (
            f"; index built in {built:.0f} s, first {index_first * 1000:.0f} ms (chromadb "
            f"imported), warm p50 {statistics.median(index_times):.1f} ms, recall@5 "
            f"{overlap / (5 * len(asked)):.1%}, hit@1 {index_hits / len(asked):.0%}"
        )
    if not with_index:
        store.index_above = 10**9  # the scan at every size: no index is built
    memory = Memory(store)
    memory.for_plan("warm up")
    plan_times = []
    for request in requests:
        t0 = time.perf_counter()
        memory.for_plan(request)
        plan_times.append((time.perf_counter() - t0) * 1000)
    line += (
        f"; plan recall ({'index' if store.uses_index() else 'scan'}) p50 "
        f"{statistics.median(plan_times):.1f} ms, p95 {percentile(plan_times, 0.95):.1f} ms"
    )
    print(line, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--no-index", action="store_true", help="time the scan only")
    parser.add_argument("--oneshot", type=int, default=0)
    parser.add_argument("--plan", type=int, default=0)
    args = parser.parse_args()
    from llmos_shell.retrieval.embeddings import shared_embedder

    requests = [
        json.loads(line)["request"]
        for line in (HERE / "data" / "plan_dev.jsonl").read_text().splitlines()
        if line.strip()
    ][: args.queries]
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    work = Path(tempfile.mkdtemp(prefix="memory-latency-"))
    store = LocalStore(work / "memory", shared_embedder())
    Memory(store).remember("my projects are in ~/code")
    for size in (int(s) for s in args.sizes.split(",") if s):
        measure_size(store, size, args.queries, not args.no_index, requests)
    store.close()
    if args.oneshot:
        oneshot_ratio(args.oneshot)
    if args.plan:
        plan_ratio(args.plan, requests)
    return 0


def oneshot_ratio(count: int, request: str = "how much disk space is free?") -> None:
    """`llmos plan --json` with 1,000 memories against `--no-memory`, alternating processes."""
    work = Path(tempfile.mkdtemp(prefix="memory-oneshot-"))
    env = {
        **os.environ,
        "LLMOS_CONFIG_DIR": str(work / "config"),
        "LLMOS_DATA_DIR": str(work / "data"),
        "LLMOS_STATE_DIR": str(work / "state"),
        "LLMOS_CACHE_DIR": str(work / "cache"),
        "LLMOS_THREADS": "1",
    }
    from llmos_shell.retrieval.embeddings import shared_embedder

    store = LocalStore(work / "data" / "memory", shared_embedder())
    fill(store, 1000)
    store.close()
    command = [sys.executable, "-m", "llmos_shell", "plan", "--json", request]
    subprocess.run(command, env=env, capture_output=True, timeout=1800, check=True)  # the cache
    timings: dict[str, list[float]] = {"memory on": [], "--no-memory": []}
    for _ in range(count):
        for label, extra in (("--no-memory", ["--no-memory"]), ("memory on", [])):
            argv = [*command[:3], *extra, *command[3:]]
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, timeout=1800, check=True)
            timings[label].append(time.perf_counter() - t0)
    on, off = statistics.median(timings["memory on"]), statistics.median(timings["--no-memory"])
    print(
        f"one-shot plan --json, median of {count} (load {os.getloadavg()[0]:.1f}): 1,000 memories "
        f"{on:.2f} s, --no-memory {off:.2f} s, ratio {on / off:.2f}x (target 1.10x)",
        flush=True,
    )


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
    backend = LlamaCppBackend(
        embedded_model_path(), context_size=4096, threads=1, cache_dir=work / "kv"
    )
    planner = Planner(
        backend,
        registry,
        shortlist=default_shortlist(registry, cache_dir=work / "emb"),
        static_examples=False,
    )
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
    print(
        f"planning, median of {count}: with memory {w:.2f} s, without {wo:.2f} s, ratio {w / wo:.2f}x"
    )
    backend.close()


if __name__ == "__main__":
    sys.exit(main())
