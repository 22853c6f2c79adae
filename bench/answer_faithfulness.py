"""Whether the answer under a result states only what the result shows, and how often one is shown.

    python bench/answer_faithfulness.py [--model PATH] [--limit N] [--threads N] [--out FILE]

Each item of `bench/data/answers_dev.jsonl` (made by bench/make_answers_dev.py from real
tool runs) holds a request, the call made for it and what the call returned. The model is
asked for the answer, as the shell asks it after a result; then:

  model  its answer as written
  llmos  what the shell shows: the tool's headline filled from the result, with the model's
         sentence after it where the result bears it out and it adds to the headline (no
         headline: the answer held to the result, else the result's summary)

An answer is faithful when every value it states (numbers, paths and file names, quoted
text, names) occurs in the result, the request or the call's arguments; the judge here
reads claims its own way (every number, every word with a capital or a digit inside it), so
it is stricter than the shell's own check. Scores: faithful answers among those shown, answers shown, and how many
of the shown ones are the model's own words rather than the summary.

An answer faithful to the result can still miss the question ("1 mount; the first: /" for
"how much space is left"). So each item also names the values that answer it
(`bench/data/answers_asked.json`: free space, not used; a count, not a list; the first
match's path), and the bench reports, per tool, the answers that state them. With
`--no-model` the model is not asked: what llmos shows is then the headline alone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from llmos_shell.calls import ToolCall, ToolResult  # noqa: E402
from llmos_shell.errors import LlmosError  # noqa: E402
from llmos_shell.planning.answers import grounded_answer  # noqa: E402
from llmos_shell.planning.planner import Transcript  # noqa: E402

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_PATHISH = re.compile(r"[~/\w.-]*[/.][\w.-]+")
_MARKED = re.compile(r"\b\w*(?:[A-Z]\w*[A-Z]|\d)\w*\b|(?<=[a-z,] )[A-Z][a-z]+\b")
_QUOTED = re.compile(r"""["'`]([^"'`]{2,80})["'`]""")


def _lengths(data: Any) -> set[float]:
    """How many items each list of the result holds: counts it shows by its shape."""
    found: set[float] = set()
    if isinstance(data, list):
        found.add(float(len(data)))
        for item in data:
            found |= _lengths(item)
    elif isinstance(data, dict):
        for value in data.values():
            found |= _lengths(value)
    return found


def judge(answer: str, result: Any, request: str) -> bool:
    """Every value the answer states occurs in the result or the request."""
    text = (json.dumps(result, ensure_ascii=False, default=str) + " " + request).lower()
    numbers = {float(n.replace(",", "")) for n in _NUMBER.findall(text)} | _lengths(result)
    for number in _NUMBER.findall(answer):
        value = float(number.replace(",", ""))
        if value not in numbers and not any(abs(value - n) <= 0.051 * abs(n) for n in numbers if n):
            return False
    for token in [*_PATHISH.findall(answer), *_QUOTED.findall(answer), *_MARKED.findall(answer)]:
        token = token.strip(".,;:").lower()
        if token and not token.replace(".", "").isdigit() and token not in text:
            base = token.rsplit("/", 1)[-1]
            if not base or base not in text:
                return False
    return True


def asked_values(result: Any, asked: list[str]) -> list[str]:
    """The values an answer must state: paths into the result, or '=' and the value."""
    out = []
    for path in asked:
        if path.startswith("="):
            out.append(path[1:])
            continue
        value: Any = result
        for part in path.split("."):
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                value = None
            if value is None:
                break
        if value is not None:
            out.append(str(value))
    return out


def states(answer: str | None, values: list[str]) -> bool:
    """Whether an answer states every asked value (a number as a number of its own)."""
    if not answer or not values:
        return False
    text = answer.lower()
    for value in values:
        if value == "0" and re.search(r"\b(no|none|nothing|empty)\b", text):
            continue  # "no matches", "the trash is empty": a count of 0 in words
        pattern = rf"(?<![\w.]){re.escape(value.lower())}(?![\w])"
        if not re.search(pattern, text):
            return False
    return True


def per_tool(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per tool: items with an asked value, and those whose answers state it."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["asked"] is None:
            continue
        counts = out.setdefault(row["tool"], {"items": 0, "model": 0, "llmos": 0})
        counts["items"] += 1
        counts["model"] += row["raw_states_asked"]
        counts["llmos"] += row["shown_states_asked"]
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="GGUF file (default: the embedded model)")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-model", action="store_true", help="headlines only; no model")
    args = parser.parse_args(argv)
    from llmos_shell.app import App
    from llmos_shell.config import Paths, load_config
    from llmos_shell.planning.headlines import result_answer
    from llmos_shell.registry import discover

    items = [
        json.loads(line)
        for line in (HERE / "data" / "answers_dev.jsonl").read_text().splitlines()
        if line.strip()
    ]
    if args.limit:
        items = items[: args.limit]
    labels = json.loads((HERE / "data" / "answers_asked.json").read_text())["asked"]
    registry = discover(None)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        paths = Paths(root / "config", root / "data", root / "state", root / "cache")
        app = App(
            config=load_config(paths, overrides={"model": args.model, "threads": args.threads})
        )
        planner = None if args.no_model else app.planner
        for item in items:
            call = ToolCall(item["call"]["tool"], item["call"]["arguments"])
            ok = item.get("ok", True)
            result = ToolResult(
                call, ok, item["result"] if ok else None, None if ok else item["result"]["error"]
            )
            transcript = Transcript(item["request"], steps=[(call, result)])
            try:
                raw = planner.next_action(transcript, final=True).answer or "" if planner else ""
            except LlmosError as exc:
                raw = ""
                print(f"\n{item['id']}: {exc}", file=sys.stderr)
            data = [item["result"]] if ok else []
            checked = grounded_answer(raw, data, item["request"]) if ok else None
            tools = {call.tool: registry.get(call.tool)} if call.tool in registry else {}
            shown = (
                result_answer([(call, item["result"])], tools, raw, item["request"]) if ok else None
            )
            # What the call was given is known too: a headline may name it ("from ls ~/x").
            said = f"{item['request']} {json.dumps(item['call']['arguments'])}"
            asked = labels.get(item["id"])
            values = asked_values(item["result"], asked) if asked else []
            rows.append(
                {
                    "id": item["id"],
                    "tool": call.tool,
                    "asked": values or None,
                    "raw_states_asked": states(raw, values),
                    "shown_states_asked": states(shown, values),
                    "raw": raw,
                    "raw_faithful": bool(raw) and judge(raw, item["result"], said),
                    "shown": shown,
                    "model_words": checked is not None and shown is not None and checked in shown,
                    "shown_faithful": shown is not None and judge(shown, item["result"], said),
                }
            )
            print(
                "+" if rows[-1]["shown_faithful"] else ("." if shown is None else "-"),
                end="",
                flush=True,
            )
        print()
        app.close()
    raw = [r for r in rows if r["raw"]]
    shown = [r for r in rows if r["shown"]]
    summary = {
        "items": len(rows),
        "model_answers_faithful": sum(r["raw_faithful"] for r in raw) / max(len(raw), 1),
        "shown_answers_faithful": sum(r["shown_faithful"] for r in shown) / max(len(shown), 1),
        "answers_shown": len(shown) / max(len(rows), 1),
        "shown_in_the_models_words": sum(r["model_words"] for r in shown) / max(len(shown), 1),
        "asked_value_stated_by_tool": per_tool(rows),
    }
    print(
        f"model   faithful {summary['model_answers_faithful']:6.1%} of {len(raw)} answers\n"
        f"llmos   faithful {summary['shown_answers_faithful']:6.1%} of {len(shown)} shown "
        f"({summary['answers_shown']:.0%} of items; {summary['shown_in_the_models_words']:.0%} "
        "in the model's words, the rest the result's summary)"
    )
    print(f"{'tool':20} {'items':>5} {'model states it':>16} {'llmos states it':>16}")
    for name, counts in summary["asked_value_stated_by_tool"].items():
        print(f"{name:20} {counts['items']:5} {counts['model']:16} {counts['llmos']:16}")
    if args.out:
        args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
