"""A one-shot request against a plain llama-cpp-python script doing the same model work.

    python bench/oneshot.py [--runs 5] [--request "how much disk space is free?"] [--memory]
                            [--before DIR] [--warm N] [--no-oneshot]

(a) `llmos --no-memory plan --json REQUEST` in a new process on 1 thread (`LLMOS_THREADS=1`),
with a warm cache (two runs first fill the prefix state and the tool and example vectors);
(b) a plain script in a new process that imports llama-cpp-python, loads the same
GGUF with the same context size on 1 thread (through `llama_params.guarded_defaults`, as
llmos does, so that it does not crash on AMX), evaluates as many prompt tokens as (a)
evaluated and generates as many tokens as (a) generated, greedily, with no grammar. The token
counts are read from the usage line (a) appends to `<state dir>/usage.jsonl`. The two are run
alternately so that a change of the machine's load touches both alike; the medians and their
ratio are printed (target: 1.5x). With --memory, (a) is also run with 1,000 memories stored
and memory on; with --before DIR, also as another checkout of llmos (in DIR) runs it. Wall
and CPU times are printed, and the 1-minute load average before and after; never asserted.

With --warm N, the interactive shell's warm plan is also measured against its floor in one
process, alternating: for each of bench/latency.py's requests, N times, the static prompt
restored (untimed), the request planned, then the floor of bench/latency.py (the same library,
a bare prompt with as many new tokens, as many generated greedily, no grammar) run at once
after it; the ratio of the medians is printed (target 1.15x), and the floor's work done
once more after the restored static prompt, which tells the prompt's cost from llmos's own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

# The plain script: model load, N prompt tokens evaluated, K tokens generated greedily.
PLAIN_SCRIPT = r"""
import random, sys, time
started = time.perf_counter()
import llama_cpp
from llmos_shell.backends.llama_params import guarded_defaults
path, n_ctx, n_new, n_gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with guarded_defaults():
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=1, n_threads_batch=1,
                          n_batch=512, seed=0, verbose=False)
loaded = time.perf_counter()
rng = random.Random(0)
low = min(1000, llm.n_vocab() // 4)
tokens = [rng.randrange(low, llm.n_vocab()) for _ in range(max(n_new, 1))]
made = 0
if n_gen <= 0:
    llm.eval(tokens)
else:
    for _ in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
        made += 1
        if made >= n_gen:
            break
print(f"{loaded - started:.3f} {time.perf_counter() - loaded:.3f}")
"""


def bench_env(work: Path) -> dict[str, str]:
    """Every llmos directory in `work`, one model thread, bytecode written as an install does."""
    # With PYTHONDONTWRITEBYTECODE set (as in some sandboxes), llmos's own modules would be
    # compiled in every run while llama-cpp-python's came compiled from its wheel.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {
        **env,
        "LLMOS_CONFIG_DIR": str(work / "config"),
        "LLMOS_DATA_DIR": str(work / "data"),
        "LLMOS_STATE_DIR": str(work / "state"),
        "LLMOS_CACHE_DIR": str(work / "cache"),
        "LLMOS_THREADS": "1",
    }


def last_usage(work: Path) -> dict[str, object]:
    """The usage line the last llmos process appended."""
    lines = (work / "state" / "usage.jsonl").read_text(encoding="utf-8").splitlines()
    data: dict[str, object] = json.loads(lines[-1])
    return data


CPU_SECONDS: dict[str, list[float]] = {}


def timed(
    argv: list[str], env: dict[str, str], cwd: str | None = None, label: str = ""
) -> tuple[float, str]:
    """Wall time of a subprocess, and its standard output; its CPU time kept under `label`."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, cwd=cwd)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    CPU_SECONDS.setdefault(label, []).append(cpu)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--request", default="how much disk space is free?")
    parser.add_argument("--memory", action="store_true", help="also memory on, 1,000 memories")
    parser.add_argument("--warm", type=int, default=0, metavar="N", help="warm plan vs floor")
    parser.add_argument("--no-oneshot", action="store_true", help="only the warm plan")
    parser.add_argument(
        "--before",
        metavar="DIR",
        help="also (a) from another checkout of llmos (run with DIR as the working folder)",
    )
    args = parser.parse_args()
    if args.no_oneshot:
        warm_ratio(Path(tempfile.mkdtemp(prefix="llmos-warm-")), args.warm)
        return 0
    work = Path(tempfile.mkdtemp(prefix="llmos-oneshot-"))
    env = bench_env(work)
    llmos = [sys.executable, "-m", "llmos_shell"]
    off = [*llmos, "--no-memory", "plan", "--json", args.request]
    on = [*llmos, "plan", "--json", args.request]
    before = os.getloadavg()[0]
    print(f"load {before:.1f}; {os.cpu_count()} CPUs", flush=True)

    first, out = timed(off, env)  # fills the caches
    usage = last_usage(work)
    print(f"first run (empty cache) {first:.2f} s: {out.strip()}", flush=True)
    timed(off, env)  # a second run: whatever the first only wrote is now read back
    usage = last_usage(work)
    new = int(usage["prompt_tokens"]) - int(usage["cached_tokens"])  # type: ignore[call-overload]
    gen = int(usage["completion_tokens"])  # type: ignore[call-overload]
    match = re.search(r"context (\d+)", str(usage["model"]))
    n_ctx = int(match.group(1)) if match else 4096
    from llmos_shell.config import load_config
    from llmos_shell.config.settings import Paths
    from llmos_shell.models.locate import resolve_model

    paths = Paths(
        config_dir=work / "config",
        data_dir=work / "data",
        state_dir=work / "state",
        cache_dir=work / "cache",
    )
    model = resolve_model(load_config(paths).settings.model)
    print(
        f"{usage['model']}: {usage['requests']} request(s), {new} prompt tokens evaluated "
        f"({usage['cached_tokens']} restored), {gen} generated",
        flush=True,
    )
    plain = [sys.executable, "-c", PLAIN_SCRIPT, str(model), str(n_ctx), str(new), str(gen)]
    variants = {"llmos --no-memory": off, "plain script": plain}
    if args.memory:
        from memory_latency import fill

        from llmos_shell.memory.store import LocalStore
        from llmos_shell.retrieval.embeddings import shared_embedder

        store = LocalStore(work / "data" / "memory", shared_embedder())
        fill(store, 1000)
        store.close()
        timed(on, env)
        variants["llmos, 1,000 memories"] = on
    folders = {label: None for label in variants}
    if args.before:
        variants["llmos --no-memory, before"] = off
        folders["llmos --no-memory, before"] = args.before
        timed(off, env, args.before)
    timings: dict[str, list[float]] = {label: [] for label in variants}
    plain_split: list[str] = []
    for _ in range(args.runs):
        for label, argv in variants.items():
            elapsed, out = timed(argv, env, folders[label], label)
            timings[label].append(elapsed)
            if label == "plain script":
                plain_split.append(out.strip())
    base = statistics.median(timings["plain script"])
    for label, values in timings.items():
        median = statistics.median(values)
        cpu = statistics.median(CPU_SECONDS[label])
        print(
            f"  {label:>26}: median {median:.2f} s of {len(values)} "
            f"({median / base:.2f}x the plain script), CPU {cpu:.2f} s "
            f"({cpu / statistics.median(CPU_SECONDS['plain script']):.2f}x)",
            flush=True,
        )
    for label, values in timings.items():
        print(f"  {label}: {', '.join(f'{v:.2f}' for v in values)} s")
    print(f"  plain script load / work (s): {', '.join(plain_split)}")
    if args.memory:
        ratio = statistics.median(timings["llmos, 1,000 memories"]) / statistics.median(
            timings["llmos --no-memory"]
        )
        print(f"  memory on / --no-memory: {ratio:.2f}x (target 1.10x)")
    print(f"load {before:.1f} before, {os.getloadavg()[0]:.1f} after; target 1.5x", flush=True)
    if args.warm:
        warm_ratio(work, args.warm)
    return 0


def floor_after_prefix(backend: object, new: int, generated: int, seed: int) -> float:
    """The floor's work (random tokens, greedy steps, no grammar) after the restored prefix."""
    import random

    llm = backend._llm  # type: ignore[attr-defined]
    rng = random.Random(seed)
    low = min(1000, llm.n_vocab() // 4)
    tokens = [rng.randrange(low, llm.n_vocab()) for _ in range(max(new, 1))]
    started = time.perf_counter()
    made = 0
    for _ in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=False):
        made += 1
        if made >= generated:
            break
    return time.perf_counter() - started


def warm_ratio(work: Path, runs: int) -> None:
    """Warm plans and their floors, alternating in one process on 1 thread."""
    import random

    from latency import COLD_REQUEST, REQUESTS, llama_cpp_floor

    from llmos_shell.app import App
    from llmos_shell.config import load_config
    from llmos_shell.config.settings import Paths
    from llmos_shell.planning.planner import Transcript

    paths = Paths(work / "config", work / "data", work / "state", work / "cache")
    before = os.getloadavg()[0]
    app = App(load_config(paths, overrides={"threads": 1, "memory": False}))
    try:
        planner = app.planner
        planner.next_action(Transcript(COLD_REQUEST))
        plans: list[float] = []
        floors: list[float] = []
        after: list[float] = []
        for index in range(runs):
            for request in REQUESTS:
                planner.warm_up()  # the floor before displaced the prefix: restored, untimed
                started = time.perf_counter()
                action = planner.next_action(Transcript(request))
                elapsed = time.perf_counter() - started
                gen = action.generation
                if gen is None:
                    continue
                new = gen.prompt_tokens - gen.cached_tokens
                floor = llama_cpp_floor(
                    app.backend, new, gen.completion_tokens, random.Random(index)
                )
                plans.append(elapsed)
                floors.append(floor.seconds)
                planner.warm_up()  # the prefix again, for the same floor after it
                after.append(floor_after_prefix(app.backend, new, gen.completion_tokens, index))
        plan, bare = statistics.median(plans), statistics.median(floors)
        behind = statistics.median(after)
        print(
            f"floor after the static prefix (the same bare tokens evaluated after it) median "
            f"{behind:.2f} s: the prefix makes the same work {behind / bare:.2f}x, the plan is "
            f"{plan / behind:.2f}x of it",
            flush=True,
        )
        paired = statistics.median(p / f for p, f in zip(plans, floors, strict=True))
        print(
            f"warm plan median {plan:.2f} s, floor median {bare:.2f} s, {plan / bare:.2f}x "
            f"(median of the pairs' ratios {paired:.2f}x) "
            f"(target 1.15x), {len(plans)} pairs; load {before:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after",
            flush=True,
        )
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
