"""How often the planner picks the right tool, and the right arguments, on the dev set.

    python bench/plan_accuracy.py [--model PATH] [--limit N] [--variants bare,full]

Every variant runs on the same loaded model in the same process, one after another:
  bare     grammar only: the system prompt and tool list, no examples, no retrieval, the
           model's arguments as it wrote them
  static   the fixed prompt: one example per tool and an answer example
  full     what llmos uses: tool shortlist and the most similar examples per request
Scores: right first step (tool, or an answer where no tool fits), right step and arguments
(see `bench/data/README.md` for how expected values are written), and seconds per request.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.calls import ToolCall  # noqa: E402
from llmos_shell.errors import InvalidValueError, TruncatedOutputError  # noqa: E402
from llmos_shell.planning.planner import Planner, Transcript, Turn  # noqa: E402
from llmos_shell.vocabulary.units import parse_age, parse_size  # noqa: E402

HOME = "/home/alex"
PATH_ARGS = {"path", "source", "destination", "cwd"}
SIZE_ARGS = {"min_size", "max_size"}
AGE_ARGS = {"modified_within", "modified_before"}
NOW = datetime(2026, 6, 15, 12, 0, 0)


def load_items(path: Path) -> list[dict[str, Any]]:
    """The dev set, one JSON object a line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def norm_path(value: str, cwd: str) -> str:
    """A path as the scorer compares it: absolute, `~` expanded, no trailing slash, lower-case."""
    text = value.strip()
    if text == "~" or text.startswith("~/"):
        text = HOME + text[1:]
    if not text.startswith("/"):
        text = posixpath.join(cwd, text)
    return posixpath.normpath(text).lower()


def _seconds_ago(value: Any) -> float | None:
    try:
        age = parse_age(str(value), NOW)
    except InvalidValueError:
        return None
    return age.total_seconds() if not isinstance(age, datetime) else (NOW - age).total_seconds()


def same_value(name: str, got: Any, want: Any, cwd: str) -> bool:
    """Whether one argument's value matches a plain expected value."""
    if name in PATH_ARGS and isinstance(got, str) and isinstance(want, str):
        return norm_path(got, cwd) == norm_path(want, cwd)
    if name in SIZE_ARGS and got is not None and want is not None:
        try:
            a, b = parse_size(got), parse_size(want)
        except InvalidValueError:
            return False
        return abs(a - b) <= 0.05 * max(a, b)  # 10MB and 10MiB both read as "10 megs"
    if name in AGE_ARGS and got is not None and want is not None:
        a_s, b_s = _seconds_ago(got), _seconds_ago(want)
        if a_s is None or b_s is None:
            return False
        return abs(a_s - b_s) <= max(0.15 * max(a_s, b_s), 3600)
    if isinstance(got, str) and isinstance(want, str):
        return got.strip().lower() == want.strip().lower()
    if isinstance(got, list) and isinstance(want, list):
        return sorted(map(str, got)) == sorted(map(str, want))
    if isinstance(got, bool) or isinstance(want, bool):
        return got is want
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        return float(got) == float(want)
    return bool(got == want)


def _first_program(command: str) -> str:
    from llmos_shell.safety.shell import analyse

    analysis = analyse(command)
    programs = [c.program for c in analysis.commands if c.program]
    return programs[0] if analysis.parsed_ok and programs else ""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def value_matches(name: str, got: Any, want: Any, cwd: str) -> bool:
    """Whether a present value satisfies one expected form (plain value or matcher object)."""
    if isinstance(want, dict) and "any_of" in want:
        return any(value_matches(name, got, option, cwd) for option in want["any_of"])
    if isinstance(want, dict) and ("contains" in want or "program" in want):
        if not isinstance(got, str):
            return False
        if "contains" in want and not all(
            str(part).lower() in got.lower() for part in _as_list(want["contains"])
        ):
            return False
        return "program" not in want or _first_program(got) in _as_list(want["program"])
    return same_value(name, got, want, cwd)


def arg_matches(name: str, got: Any, want: Any, cwd: str, default: Any) -> bool:
    """Whether the call's value for `name` (`...` when not given) meets the expectation.

    An argument left out counts as the tool's default.
    """
    if got is ...:
        got = default
    if isinstance(want, dict) and "absent" in want:
        return got is None or got == "" or got == default
    if got is None:
        return want is None
    return value_matches(name, got, want, cwd)


@dataclass
class Outcome:
    """One item's result under one variant."""

    id: str
    right_step: bool
    right_args: bool
    got: dict[str, Any]
    seconds: float


def score(
    item: dict[str, Any], call: ToolCall | None, defaults: dict[str, Any]
) -> tuple[bool, bool]:
    """(right tool or answer, right tool or answer and arguments)."""
    expect = item["expect"]
    if expect["tool"] is None:
        return call is None, call is None
    if call is None or call.tool != expect["tool"]:
        return False, False
    cwd = item.get("cwd") or HOME
    ok = all(
        arg_matches(name, call.arguments.get(name, ...), want, cwd, defaults.get(name))
        for name, want in (expect.get("arguments") or {}).items()
    )
    return True, ok


def run_variant(
    planner: Planner, items: list[dict[str, Any]], *, progress: bool = False
) -> list[Outcome]:
    """Plan the first step of every item; nothing is executed."""
    planner.warm_up()
    outcomes = []
    for item in items:
        history = [
            Turn(h["request"], ToolCall(h["tool"], dict(h.get("arguments") or {})))
            if h.get("tool")
            else Turn(h["request"], None, h.get("answer"))
            for h in item.get("history") or []
        ]
        transcript = Transcript(item["request"], history=history)
        started = time.perf_counter()
        try:
            action = planner.next_action(transcript)
            call = action.call
            got: dict[str, Any] = call.to_json() if call else {"answer": action.answer}
        except TruncatedOutputError as exc:
            call, got = ToolCall("<cut off>", {}), {"error": str(exc)}
        seconds = time.perf_counter() - started
        defaults = {}
        if call is not None and call.tool in planner.registry:
            schema = planner.registry.get(call.tool).parameters_schema()
            defaults = {k: v.get("default") for k, v in schema.get("properties", {}).items()}
        right_step, right_args = score(item, call, defaults)
        outcomes.append(Outcome(item["id"], right_step, right_args, got, seconds))
        if progress:
            mark = "+" if right_args else ("~" if right_step else "-")
            print(mark, end="\n" if len(outcomes) % 50 == 0 else "", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return outcomes


def summarize(items: list[dict[str, Any]], outcomes: list[Outcome]) -> dict[str, Any]:
    """Overall and per-tag percentages."""
    n = len(outcomes)
    tags: Counter[str] = Counter()
    tags_right: Counter[str] = Counter()
    for item, outcome in zip(items, outcomes, strict=True):
        for tag in item.get("tags", []):
            tags[tag] += 1
            tags_right[tag] += outcome.right_args
    return {
        "items": n,
        "right_step": sum(o.right_step for o in outcomes) / n,
        "right_args": sum(o.right_args for o in outcomes) / n,
        "tool_items_right_step": _share(
            [o.right_step for i, o in zip(items, outcomes, strict=True) if i["expect"]["tool"]]
        ),
        "no_tool_right": _share(
            [o.right_step for i, o in zip(items, outcomes, strict=True) if not i["expect"]["tool"]]
        ),
        "seconds_per_request": sum(o.seconds for o in outcomes) / n,
        "by_tag": {tag: tags_right[tag] / count for tag, count in sorted(tags.items())},
    }


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def build_planner(variant: str, backend: Any, registry: Any, shortlist_size: int) -> Planner:
    """The planner of one variant, on the shared backend."""
    if variant == "bare":
        return Planner(
            backend, registry, static_examples=False, conversations=False, tidy_arguments=False
        )
    if variant == "static":
        return Planner(backend, registry)
    if variant == "full":
        from llmos_shell.planning.shortlist import default_shortlist

        shortlist = default_shortlist(registry, size=shortlist_size)
        return Planner(
            backend, registry, shortlist=shortlist, static_examples=False, conversations=False
        )
    raise SystemExit(f"unknown variant {variant!r}; use bare, static or full")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--data", default=str(HERE / "data" / "plan_dev.jsonl"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--variants", default="bare,full")
    parser.add_argument("--shortlist", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", help="write per-item results as JSON here")
    args = parser.parse_args(argv)

    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import resolve_model
    from llmos_shell.registry import discover

    items = load_items(Path(args.data))
    if args.limit:
        items = items[: args.limit]
    with tempfile.TemporaryDirectory() as scratch:
        registry = discover(Path(scratch) / "no-plugins")
        model = resolve_model(args.model)
        backend = LlamaCppBackend(model, threads=args.threads, cache_dir=Path(scratch))
        results: dict[str, Any] = {"model": model.name, "items": len(items), "variants": {}}
        for variant in args.variants.split(","):
            planner = build_planner(variant, backend, registry, args.shortlist)
            outcomes = run_variant(planner, items, progress=True)
            summary = summarize(items, outcomes)
            results["variants"][variant] = {
                "summary": summary,
                "outcomes": [o.__dict__ for o in outcomes],
            }
            print(
                f"{variant:7} right step {summary['right_step']:6.1%}  "
                f"step+args {summary['right_args']:6.1%}  "
                f"(tool items {summary['tool_items_right_step']:.1%}, "
                f"no-tool {summary['no_tool_right']:.1%})  "
                f"{summary['seconds_per_request']:.2f} s/request",
                flush=True,
            )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
