"""What running tool calls in killable worker processes costs, per call and per start.

    python bench/tool_overhead.py [--calls 300]

For a tool that does nothing (a plugin file returning a small dict) and for a real built-in
(list_directory of a small folder), the median and 90th percentile of one `execute`:
- direct: the function called in this process, no executor (the floor);
- thread: the executor running it in a thread of this process (how every call ran before);
- worker: the executor sending it to a warm worker process (how calls run now).
Also: the first call on a fresh pool (a worker started, its tool imported), and the call
right after a worker was killed on its time limit (its replacement was started at once).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from llmos_shell.calls import ToolCall  # noqa: E402
from llmos_shell.registry import Tool, discover  # noqa: E402
from llmos_shell.safety.executor import execute  # noqa: E402
from llmos_shell.safety.worker import WorkerPool  # noqa: E402

PLUGIN = '''
import time

from llmos_shell.registry import tool


@tool
def nothing(size: int = 3) -> dict:
    """Return a small dict and do nothing else."""
    return {"numbers": list(range(size)), "text": "done"}


@tool
def linger(seconds: float) -> dict:
    """Sleep, to be stopped by the time limit."""
    time.sleep(seconds)
    return {}
'''


def _timed(calls: int, once: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    return times


def _row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return (
        f"  {name:<8} median {statistics.median(times) * 1000:7.3f} ms   p90 {p90 * 1000:7.3f} ms"
    )


def _measure(item: Tool, arguments: dict[str, object], calls: int, pool: WorkerPool) -> list[str]:
    call = ToolCall(item.name, arguments)
    threaded = dataclasses.replace(item, in_process=True)
    for _ in range(20):  # warm both paths: the worker has imported the tool, caches are full
        assert execute(call, item, pool=pool).ok
        assert execute(call, threaded, pool=pool).ok
    return [
        _row("direct", _timed(calls, lambda: item.invoke(arguments))),
        _row("thread", _timed(calls, lambda: execute(call, threaded, pool=pool))),
        _row("worker", _timed(calls, lambda: execute(call, item, pool=pool))),
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure and print the per-call and per-start costs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="llmos-overhead-") as folder:
        plugins = Path(folder) / "plugins"
        plugins.mkdir()
        (plugins / "overhead_probe.py").write_text(PLUGIN)
        small = Path(folder) / "small"
        small.mkdir()
        for number in range(10):
            (small / f"f{number}.txt").write_text("x")
        registry = discover(plugins)
        nothing, linger = registry.get("nothing"), registry.get("linger")
        listing = registry.get("list_directory")

        cold_pool = WorkerPool()
        started = time.perf_counter()
        assert execute(ToolCall("nothing", {}), nothing, pool=cold_pool).ok
        cold = time.perf_counter() - started
        cold_pool.close()

        pool = WorkerPool()
        print(
            f"per call, {args.calls} calls each (python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs):"
        )
        print(" a tool that does nothing (a plugin file):")
        print("\n".join(_measure(nothing, {}, args.calls, pool)))
        print(" list_directory of a folder of 10 files:")
        print("\n".join(_measure(listing, {"path": str(small)}, args.calls, pool)))
        print(f"first call on a fresh pool (worker start + import): {cold * 1000:.0f} ms")
        restarts = []
        for _ in range(5):
            stopped = execute(ToolCall("linger", {"seconds": 30}), linger, timeout_s=0.2, pool=pool)
            assert not stopped.ok
            time.sleep(0.5)  # a person reads the message; the replacement starts meanwhile
            started = time.perf_counter()
            assert execute(ToolCall("nothing", {}), nothing, pool=pool).ok
            restarts.append(time.perf_counter() - started)
        print(
            "first call after a worker was killed (replacement started at the kill): "
            f"median {statistics.median(restarts) * 1000:.1f} ms"
        )
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
