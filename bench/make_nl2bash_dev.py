"""Select the development sample for bench/suggest_accuracy.py from the NL2Bash pairs.

    python bench/make_nl2bash_dev.py [--pairs PATH] [--size 150] [--seed 20240501] [--out PATH]

The pairs come from NL2Bash (Lin et al., LREC 2018; TellinaTool/nl2bash), MIT License,
Copyright (c) 2020 NL2Bash dataset; the license text is prompts/NL2BASH_LICENSE.txt, and the
sample written here is a subset of that data under the same license.

A pair is eligible when
- its command parses, its description is not shared with another pair, and its command is
  not a repeat;
- every program it names is installed or a bash builtin, and none shows live processes,
  sessions or disk space (ps, top, who, df, ...: in the sandbox they show the command's own
  process tree, which differs between equivalent spellings, or a host disk that other
  programs keep filling);
- run in the bench sandbox, once under `set -u` (so placeholders like `$FILE` fail) and
  twice as written, it exits 0 within 3 s under the output cap, writes nothing to stderr
  and no error message to stdout, prints more than a bare "0" or changes the files, and
  does the same all three times, and once more after the whole sample is drawn, minutes
  later (which catches clocks).
Pairs are drawn per first program, in a seeded random order, with quotas proportional to
the square root of how many candidates the program leads, so that `find` (56% of them)
does not swamp the sample; a program that runs out of eligible pairs hands its quota on.
The sample is written in a seeded random order, so its first N items are a fair subsample
(`--limit N`). The id is the pair's 0-based line in pairs.jsonl. A rerun gives the same
sample up to commands whose behaviour depends on timing or on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sandbox import (
    SANDBOX_PATH,
    RunResult,
    Sandbox,
    SandboxUnavailableError,
    normalize_output,
)

from llmos_shell.safety.shell import analyse

PAIRS = Path("/work/shared/data/nl2bash/pairs.jsonl")
OUT = Path(__file__).with_name("data") / "nl2bash_dev.jsonl"
SELECTION_TIMEOUT_S = 3.0
LIVE_STATE_PROGRAMS = frozenset(
    "ps pstree top htop pgrep pidof jobs w who last lastlog uptime free vmstat lsof netstat ss "
    "tty ifconfig ip df".split()
)
ERROR_PHRASES = (
    "No such file or directory",
    "command not found",
    "not found",
    "Permission denied",
    "Operation not permitted",
    "Read-only file system",
    "not a tty",
    "unbound variable",
    "Network is unreachable",
)


@dataclass(frozen=True)
class Pair:
    """One NL2Bash pair and its line in the file."""

    id: int
    nl: str
    cmd: str


def norm_nl(text: str) -> str:
    """A description compared loosely: case and spacing ignored."""
    return " ".join(text.lower().split())


def norm_cmd(text: str) -> str:
    """A command compared loosely: spacing ignored."""
    return " ".join(text.split())


def shell_builtins() -> frozenset[str]:
    """Bash's builtins and keywords, which no PATH lookup finds."""
    listing = subprocess.run(
        ["bash", "-c", "compgen -b; compgen -k"], capture_output=True, text=True, check=True
    )
    return frozenset(listing.stdout.split())


def installed(program: str, builtins: frozenset[str]) -> bool:
    """True when the sandbox can run `program` (`sudo` in a 2>&1 pipe can look like success)."""
    return program in builtins or shutil.which(program, path=SANDBOX_PATH) is not None


def candidates(pairs: list[Pair]) -> dict[str, list[Pair]]:
    """Pairs that parse, with a description no other pair has, grouped by first program."""
    builtins = shell_builtins()
    nl_counts = Counter(norm_nl(p.nl) for p in pairs)
    seen_cmds: set[str] = set()
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        analysis = analyse(pair.cmd)
        if not analysis.parsed_ok or not analysis.commands:
            continue
        if any(cmd.program in LIVE_STATE_PROGRAMS for cmd in analysis.commands):
            continue
        if analysis.commands[0].dynamic_program or not all(
            cmd.dynamic_program or installed(cmd.program, builtins) for cmd in analysis.commands
        ):
            continue
        if nl_counts[norm_nl(pair.nl)] > 1 or norm_cmd(pair.cmd) in seen_cmds:
            continue  # one description, several commands: no single reference
        seen_cmds.add(norm_cmd(pair.cmd))
        groups.setdefault(analysis.commands[0].program, []).append(pair)
    return groups


def quotas(remaining: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `remaining` in proportion to `weights` (largest remainder, ties by name)."""
    total = sum(weights.values())
    if total <= 0:
        return dict.fromkeys(weights, 0)
    exact = {name: remaining * w / total for name, w in weights.items()}
    out = {name: math.floor(x) for name, x in exact.items()}
    left = remaining - sum(out.values())
    for name in sorted(exact, key=lambda n: (-(exact[n] - out[n]), n))[:left]:
        out[name] += 1
    return out


class Selector:
    """Draws eligible pairs per first program until the sample is full."""

    def __init__(self, sandbox: Sandbox, groups: dict[str, list[Pair]], seed: int) -> None:
        self.sandbox = sandbox
        rng = random.Random(seed)
        self.queues = {
            name: rng.sample(items, len(items)) for name, items in sorted(groups.items())
        }
        self.weights = {name: math.sqrt(len(items)) for name, items in self.queues.items()}
        self.cursor = dict.fromkeys(self.queues, 0)
        self.chosen: dict[str, list[Pair]] = {name: [] for name in self.queues}
        self.first_runs: dict[int, RunResult] = {}
        self.tested = 0

    def eligible(self, pair: Pair) -> bool:
        """The reference runs, does something, and does the same thing twice."""
        self.tested += 1
        first = self.sandbox.run(f"set -u\n{pair.cmd}")
        if not first.ok or first.stderr.strip() or "\ufffd" in first.stdout:
            return False
        if any(phrase in first.stdout for phrase in ERROR_PHRASES):
            return False  # `2>&1` hid a failure from the exit status and stderr
        if normalize_output(first.stdout) in ([], ["0"]) and (
            first.state == self.sandbox.fixture_state
        ):
            return False  # nothing, or a count of nothing: any failing command matches it
        for _again in range(2):  # two more runs: races (`sed x f | tee f`) rarely pass both
            again = self.sandbox.run(pair.cmd)
            if not again.ok or not same_effect(first, again):
                return False
        self.first_runs[pair.id] = first
        return True

    def fill(self, size: int) -> None:
        """Draw until `size` pairs are chosen or no program has eligible pairs left."""
        while (remaining := size - sum(map(len, self.chosen.values()))) > 0:
            open_groups = {
                name: weight
                for name, weight in self.weights.items()
                if self.cursor[name] < len(self.queues[name])
            }
            if not open_groups:
                return
            for name, want in quotas(remaining, open_groups).items():
                queue = self.queues[name]
                while want > 0 and self.cursor[name] < len(queue):
                    pair = queue[self.cursor[name]]
                    self.cursor[name] += 1
                    if self.eligible(pair):
                        self.chosen[name].append(pair)
                        want -= 1
            chosen = sum(map(len, self.chosen.values()))
            print(f"  chosen {chosen}/{size}, tested {self.tested}", file=sys.stderr)

    def late_check(self) -> int:
        """Run every chosen pair once more; drop those whose effect moved. Returns how many."""
        dropped = 0
        for name, pairs in self.chosen.items():
            keep = []
            for pair in pairs:
                again = self.sandbox.run(pair.cmd)
                if again.ok and same_effect(self.first_runs[pair.id], again):
                    keep.append(pair)
                else:
                    dropped += 1
            self.chosen[name] = keep
        return dropped


def same_effect(a: RunResult, b: RunResult) -> bool:
    """The same output lines (in any order) and the same files."""
    return Counter(normalize_output(a.stdout)) == Counter(normalize_output(b.stdout)) and (
        a.state == b.state
    )


def main() -> None:
    """Select the sample and write it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    lines = args.pairs.read_text(encoding="utf-8").splitlines()
    pairs = [Pair(i, item["nl"], item["cmd"]) for i, item in enumerate(map(json.loads, lines))]
    groups = candidates(pairs)
    print(f"{len(pairs)} pairs, {sum(map(len, groups.values()))} candidates", file=sys.stderr)
    try:
        sandbox = Sandbox(timeout_s=SELECTION_TIMEOUT_S)
    except SandboxUnavailableError as exc:
        sys.exit(str(exc))
    with sandbox:
        selector = Selector(sandbox, groups, args.seed)
        selector.fill(args.size)
        while (dropped := selector.late_check()) > 0:
            print(f"  late check dropped {dropped}", file=sys.stderr)
            selector.fill(args.size)
    sample = [pair for pairs_ in selector.chosen.values() for pair in pairs_]
    random.Random(args.seed).shuffle(sample)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for pair in sample:
            handle.write(json.dumps({"id": pair.id, "nl": pair.nl, "cmd": pair.cmd}) + "\n")
    counts = Counter(name for name, pairs_ in selector.chosen.items() for _ in pairs_)
    print(f"wrote {len(sample)} pairs to {args.out} ({selector.tested} tested)", file=sys.stderr)
    print(", ".join(f"{name} {n}" for name, n in counts.most_common()), file=sys.stderr)


if __name__ == "__main__":
    main()
