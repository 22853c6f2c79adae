"""Execution accuracy of `llmos suggest` on NL2Bash dev pairs, against a bare-prompt baseline.

    python bench/suggest_accuracy.py [--model PATH] [--limit N] [--threads N] [--out results.json]

Both variants run on one loaded model in one process, item by item:
  full   what `llmos suggest` does: the system prompt, then the most similar pool examples,
         drawn from the shipped pool less every dev item (same description or same command)
  bare   the same grammar and system prompt, no examples
A suggestion is right when it is execution-equivalent to the reference command: run in a
fresh copy of the fixture home under bubblewrap, it prints the same output and leaves the
same files, and succeeds or fails alike (bench/sandbox.py has the rules). Also reported:
how often a command that parses came out, exact string matches, and seconds per request.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from make_nl2bash_dev import norm_cmd, norm_nl
from sandbox import Judge, Reference, Sandbox, SandboxUnavailableError

from llmos_shell.backends.base import Backend
from llmos_shell.errors import LlmosError
from llmos_shell.planning.suggest import Exemplar, Suggester, exemplar_pool
from llmos_shell.retrieval.bm25 import BM25Index

DATA = Path(__file__).with_name("data") / "nl2bash_dev.jsonl"
VARIANTS = ("full", "bare")
SHOWN_OUTPUT = 600  # characters of each run's stdout kept in the results file


class HeldOutSuggester(Suggester):
    """A Suggester whose examples come from a given pool instead of the shipped one."""

    def __init__(self, backend: Backend, pool: Sequence[Exemplar], *, examples: int = 6) -> None:
        super().__init__(backend, examples=examples)
        self.pool = tuple(pool)
        self.index = BM25Index([example.request for example in self.pool])

    def similar(self, request: str, exclude: str | None = None) -> tuple[Exemplar, ...]:
        """The held-out pool's examples most like `request`, most similar last."""
        found = [
            self.pool[position]
            for position, _score in self.index.top(request, self.examples + 4)
            if exclude is None or self.pool[position].request.strip() != exclude.strip()
        ]
        return tuple(reversed(found[: self.examples]))


def held_out_pool(items: Sequence[dict[str, Any]]) -> tuple[tuple[Exemplar, ...], int]:
    """The shipped pool without any dev item's description or command, and how many went."""
    pool, _index = exemplar_pool()
    nls = {norm_nl(item["nl"]) for item in items}
    cmds = {norm_cmd(item["cmd"]) for item in items}
    kept = tuple(
        e for e in pool if norm_nl(e.request) not in nls and norm_cmd(e.command) not in cmds
    )
    return kept, len(pool) - len(kept)


@dataclass(frozen=True)
class Outcome:
    """One variant's answer to one item, and the verdict."""

    command: str | None
    error: str | None
    attempts: int
    examples: int
    seconds: float
    equivalent: bool
    exact: bool
    reason: str
    stdout: str = ""


def run_variant(suggester: Suggester, judge: Judge, nl: str, reference: Reference) -> Outcome:
    """Ask for a command, time it, and judge it against the reference."""
    started = time.perf_counter()
    try:
        suggestion = suggester.suggest(nl)
    except LlmosError as exc:
        seconds = time.perf_counter() - started
        return Outcome(None, str(exc), 0, 0, seconds, False, False, "no command")
    seconds = time.perf_counter() - started
    verdict = judge.compare(reference, suggestion.command)
    return Outcome(
        command=suggestion.command,
        error=None,
        attempts=suggestion.attempts,
        examples=len(suggestion.examples),
        seconds=seconds,
        equivalent=verdict.equivalent,
        exact=norm_cmd(suggestion.command) == norm_cmd(reference.command),
        reason=verdict.reason,
        stdout=verdict.candidate.stdout[:SHOWN_OUTPUT],
    )


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Shares of equivalent, parsing and exactly matching commands, and mean seconds."""
    n = len(outcomes) or 1
    return {
        "equivalent": sum(o.equivalent for o in outcomes) / n,
        "parses": sum(o.command is not None for o in outcomes) / n,
        "exact": sum(o.exact for o in outcomes) / n,
        "seconds_per_request": sum(o.seconds for o in outcomes) / n,
    }


def run_items(
    items: Sequence[dict[str, Any]], suggesters: dict[str, Suggester], judge: Judge
) -> tuple[list[dict[str, Any]], dict[str, list[Outcome]]]:
    """Every item through every variant: per-item records, and the outcomes per variant."""
    records: list[dict[str, Any]] = []
    outcomes: dict[str, list[Outcome]] = {name: [] for name in suggesters}
    for number, item in enumerate(items, 1):
        reference = judge.reference(item["cmd"])
        record: dict[str, Any] = {
            "id": item["id"],
            "nl": item["nl"],
            "reference": item["cmd"],
            "unordered": reference.unordered,
            "reference_stable": reference.stable,
            "reference_stdout": reference.first.stdout[:SHOWN_OUTPUT],
        }
        marks = []
        for name, suggester in suggesters.items():
            outcome = run_variant(suggester, judge, item["nl"], reference)
            outcomes[name].append(outcome)
            record[name] = asdict(outcome)
            marks.append(f"{name} {'ok' if outcome.equivalent else '--'}")
        records.append(record)
        print(f"[{number}/{len(items)}] {', '.join(marks)}  {item['nl'][:60]}", file=sys.stderr)
    return records, outcomes


def print_table(summaries: dict[str, dict[str, float]], n: int, only: dict[str, int]) -> None:
    """The summary table, both variants and full / bare."""
    print(f"{n} items")
    print(f"{'variant':8} {'exec-equivalent':>16} {'parses':>8} {'exact':>7} {'s/request':>10}")
    for name, s in summaries.items():
        print(
            f"{name:8} {s['equivalent']:>15.1%} {s['parses']:>8.1%} {s['exact']:>7.1%} "
            f"{s['seconds_per_request']:>10.2f}"
        )
    full, bare = summaries["full"], summaries["bare"]
    ratio = (
        f"{full['equivalent'] / bare['equivalent']:.2f}x"
        if bare["equivalent"]
        else "n/a (bare got none right)"
    )
    time_ratio = full["seconds_per_request"] / (bare["seconds_per_request"] or 1)
    print(f"full / bare: exec-equivalent {ratio}, seconds {time_ratio:.2f}x")
    print(f"right only with full: {only['full']}, right only with bare: {only['bare']}")


def main() -> None:
    """Run both variants over the sample, print the table, write per-item results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="first N items only (0: all)")
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: all)")
    parser.add_argument("--examples", type=int, default=6, help="examples in the full variant")
    parser.add_argument("--out", type=Path, help="write per-item results as JSON here")
    args = parser.parse_args()

    items = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    pool, removed = held_out_pool(items)  # every dev item leaves the pool, whatever --limit
    if args.limit:
        items = items[: args.limit]
    # SIGTERM unwinds like Ctrl-C, so the fixture copies are removed.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    try:
        sandbox = Sandbox()
    except SandboxUnavailableError as exc:
        sys.exit(str(exc))

    with sandbox:
        from llmos_shell.backends.llama_cpp import LlamaCppBackend
        from llmos_shell.models.locate import resolve_model

        model = resolve_model(args.model)
        backend = LlamaCppBackend(model, context_size=4096, threads=args.threads)
        try:
            suggesters: dict[str, Suggester] = {
                "full": HeldOutSuggester(backend, pool, examples=args.examples),
                "bare": Suggester(backend, examples=0),
            }
            suggesters["full"].warm_up()  # both variants share the system prompt
            print(f"model: {model.name}; pool: {len(pool)} examples ({removed} dev pairs held out)")
            started = time.perf_counter()
            records, outcomes = run_items(items, suggesters, Judge(sandbox))
            wall_s = time.perf_counter() - started
        finally:
            backend.close()

    summaries = {name: summarize(outcomes[name]) for name in VARIANTS}
    paired = list(zip(outcomes["full"], outcomes["bare"], strict=True))
    only = {
        "full": sum(f.equivalent and not b.equivalent for f, b in paired),
        "bare": sum(b.equivalent and not f.equivalent for f, b in paired),
    }
    print_table(summaries, len(items), only)
    print(f"wall time: {wall_s:.0f} s")
    if args.out:
        results = {
            "model": str(model),
            "items": len(items),
            "held_out_from_pool": removed,
            "summary": summaries,
            "right_only_with": only,
            "results": records,
        }
        args.out.write_text(json.dumps(results, indent=1))
        print(f"per-item results: {args.out}")


if __name__ == "__main__":
    main()
