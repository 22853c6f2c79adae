"""Both accuracy benchmarks in one command: planning (tools and arguments) and `suggest`.

    python bench/accuracy.py [--model PATH] [--limit N] [--threads N]

Runs bench/plan_accuracy.py (bare model and llmos, on bench/data/plan_dev.jsonl) and then
bench/suggest_accuracy.py (bare model and llmos, NL2Bash commands run in a sandbox; needs
bubblewrap), each printing its table. Per-item results go to --out-dir when given.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks; the exit status is the first non-zero one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--limit", type=int, default=0, help="first N items of each set")
    parser.add_argument("--threads", type=int, default=None, help="model threads")
    parser.add_argument("--out-dir", type=Path, help="write per-item results here")
    args = parser.parse_args(argv)
    common: list[str] = []
    if args.model:
        common += ["--model", args.model]
    if args.limit:
        common += ["--limit", str(args.limit)]
    if args.threads:
        common += ["--threads", str(args.threads)]
    status = 0
    for script in ("plan_accuracy.py", "suggest_accuracy.py"):
        extra: list[str] = []
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            extra = ["--out", str(args.out_dir / script.replace(".py", ".json"))]
        print(f"== {script}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), *common, *extra])
        status = status or code
    return status


if __name__ == "__main__":
    raise SystemExit(main())
