"""A one-shot request on 1, 2 and all threads, and on the default, under the machine's load.

    python bench/threads.py [--runs 3] [--request "how much disk space is free?"]

Each run is `llmos plan --json REQUEST` in a new process (the prefix cache warmed first, so
every run restores it), the thread counts taken in turn so that a change of load touches
them alike. The 1-minute load average is printed before and after: run it once on an idle
machine and once beside other work to see what the default (the idle physical cores)
chooses. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.backends.threads import default_threads, usable_cores  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--request", default="how much disk space is free?")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="llmos-threads-"))
    env = {
        **os.environ,
        "LLMOS_CONFIG_DIR": str(work / "config"),
        "LLMOS_DATA_DIR": str(work / "data"),
        "LLMOS_STATE_DIR": str(work / "state"),
        "LLMOS_CACHE_DIR": str(work / "cache"),
    }
    command = [sys.executable, "-m", "llmos_shell", "--no-memory", "plan", "--json", args.request]
    counts = {"1": "1", "2": "2", f"all ({os.cpu_count()})": str(os.cpu_count()), "default": ""}
    before = os.getloadavg()[0]
    print(
        f"load {before:.1f}; {usable_cores()} usable physical cores; the default now picks "
        f"{default_threads()}",
        flush=True,
    )
    subprocess.run(command, env=env, capture_output=True, timeout=1800, check=True)
    timings: dict[str, list[float]] = {label: [] for label in counts}
    for _ in range(args.runs):
        for label, threads in counts.items():
            run_env = {**env, "LLMOS_THREADS": threads} if threads else env
            t0 = time.perf_counter()
            subprocess.run(command, env=run_env, capture_output=True, timeout=1800, check=True)
            timings[label].append(time.perf_counter() - t0)
    base = statistics.median(timings["1"])
    for label, values in timings.items():
        median = statistics.median(values)
        print(f"  threads {label:>9}: median {median:.2f} s ({median / base:.2f}x of 1 thread)")
    print(f"load {before:.1f} before, {os.getloadavg()[0]:.1f} after", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
