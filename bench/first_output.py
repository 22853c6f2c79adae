"""Time to the first visible output of a one-shot request in a terminal.

    python bench/first_output.py [--runs 3] [--threads 1] [REQUEST]

`llmos REQUEST` runs in a pseudo-terminal (stdin, stdout and stderr all the terminal, as a
person types it), and the bench reads what the terminal shows: the time to the first byte
(the spinner on stderr, or whatever comes first), to the planned call's line, and to the
end. `python -c pass` in the same terminal, alternating with it, is the baseline: the
interpreter's own start on this machine at this moment. Medians; the load is printed.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path

ARROW = "→".encode()


def watch(argv: list[str], env: dict[str, str], limit_s: float = 600.0) -> dict[str, float]:
    """Run `argv` in a new pseudo-terminal; seconds to its first byte, its call line, its end."""
    main, secondary = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True
    )
    os.close(secondary)
    seen = b""
    marks: dict[str, float] = {}
    while time.perf_counter() - started < limit_s:
        ready, _, _ = select.select([main], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            now = time.perf_counter() - started
            marks.setdefault("first byte", now)
            seen += chunk
            if ARROW in seen:
                marks.setdefault("call shown", now)
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    marks["end"] = time.perf_counter() - started
    os.close(main)
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("request", nargs="?", default="how much disk space is free?")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    llmos = str(Path(sys.executable).with_name("llmos"))
    env = {**os.environ, "LLMOS_THREADS": str(args.threads), "TERM": "xterm"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    results: dict[str, list[dict[str, float]]] = {"llmos": [], "python -c pass": []}
    for _ in range(args.runs):
        results["llmos"].append(watch([llmos, "--no-memory", args.request], env))
        results["python -c pass"].append(watch([sys.executable, "-c", "pass"], env))
    print(f"load {os.getloadavg()[0]:.1f}, {args.runs} runs, {args.threads} thread(s)")
    for name, runs in results.items():
        keys = sorted({k for r in runs for k in r}, key=lambda k: min(r.get(k, 1e9) for r in runs))
        line = ", ".join(
            f"{k} {statistics.median(r[k] for r in runs if k in r):.2f} s" for k in keys
        )
        print(f"{name}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
