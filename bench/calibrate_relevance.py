"""Fit the call-or-answer model of `llmos_shell/planning/relevance.py` and its thresholds.

    python bench/calibrate_relevance.py [--write]

The calibration requests are the built-in dev set (`plan_dev.jsonl`, with the built-in
tools) and the odd-numbered items of the unseen-tools set (`unseen_dev.jsonl`, with the
tools each offers); the even-numbered unseen items are held out and only scored. No model
is loaded: the features come from the embeddings alone. A small model left to choose
between calling and answering mostly answers, so the choice is made here: one threshold,
the one that decides the most calibration requests right while answering at least
`--floor` of those no tool fits (a tool is called at or above it, an answer given below).
`--write` stores the result in `prompts/relevance.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from llmos_shell.planning.relevance import RelevanceModel, fit  # noqa: E402
from llmos_shell.planning.shortlist import ToolShortlist, default_shortlist  # noqa: E402
from llmos_shell.registry import discover  # noqa: E402
from llmos_shell.registry.specs import tools_from_specs  # noqa: E402


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _plain(shortlist: ToolShortlist) -> ToolShortlist:
    shortlist.relevance = None  # raw features, no decision
    return shortlist


def features_of(
    items: Iterable[dict[str, Any]], shortlist_for: Any
) -> list[tuple[dict[str, float], bool, str]]:
    """(features, some tool fits, id) for each item."""
    rows = []
    for item in items:
        shortlist = shortlist_for(item)
        history = item.get("history") or []
        context = history[-1]["request"] if history else ""
        selection = shortlist.select(item["request"], context)
        rows.append((selection.features, bool(item["expect"]["tool"]), item["id"]))
    return rows


def best_threshold(
    model: RelevanceModel, rows: list[tuple[dict[str, float], bool, str]], floor: float
) -> float:
    """The threshold that decides most requests right (call at or above it, answer below),
    among those that still answer at least `floor` of the requests no tool fits."""
    scored = [(model.probability(f), fits) for f, fits, _ in rows]
    misfits = sum(1 for _, fits in scored if not fits)
    best, best_right = 0.5, -1
    for t in sorted({p for p, _ in scored}):
        right = sum((p >= t) == fits for p, fits in scored)
        answered = sum(1 for p, fits in scored if not fits and p < t)
        if misfits and answered / misfits < floor:
            continue
        if right > best_right:
            best, best_right = t, right
    return best


def decisions(
    model: RelevanceModel, rows: list[tuple[dict[str, float], bool, str]]
) -> dict[str, Any]:
    """How the thresholds sort requests: forced right, forced wrong, left to the model."""
    out = {
        "answer_only_right": 0,
        "answer_only_wrong": 0,
        "call_only_right": 0,
        "call_only_wrong": 0,
        "left_to_model": 0,
        "items": len(rows),
    }
    for features, fits, _ in rows:
        p = model.probability(features)
        if p < model.answer_only_below:
            out["answer_only_right" if not fits else "answer_only_wrong"] += 1
        elif p > model.call_only_above:
            out["call_only_right" if fits else "call_only_wrong"] += 1
        else:
            out["left_to_model"] += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--floor", type=float, default=0.8, help="least share of no-fit requests answered"
    )
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)

    builtin = _plain(default_shortlist(discover(None)))
    specs = {
        s["function"]["name"]: s
        for s in json.loads((HERE / "data" / "unseen_tools.json").read_text())
    }
    cache: dict[tuple[str, ...], ToolShortlist] = {}

    def unseen_shortlist(item: dict[str, Any]) -> ToolShortlist:
        key = tuple(item["tools"])
        if key not in cache:
            cache[key] = _plain(default_shortlist(tools_from_specs([specs[n] for n in key])))
        return cache[key]

    unseen = _lines(HERE / "data" / "unseen_dev.jsonl")
    calibration_unseen = [i for i in unseen if int(i["id"][1:]) % 2 == 1]
    held_out = [i for i in unseen if int(i["id"][1:]) % 2 == 0]
    rows = features_of(_lines(HERE / "data" / "plan_dev.jsonl"), lambda _: builtin)
    rows += features_of(calibration_unseen, unseen_shortlist)
    weights, bias = fit((f, fits) for f, fits, _ in rows)
    model = RelevanceModel(weights, bias, 0.0, 1.0)
    threshold = best_threshold(model, rows, args.floor)
    model = RelevanceModel(weights, bias, threshold, threshold)
    held = features_of(held_out, unseen_shortlist)
    report = {
        "model": model.to_json(),
        "calibration": decisions(model, rows),
        "held_out_unseen": decisions(model, held),
    }
    print(json.dumps(report, indent=1))
    if args.write:
        stored = {
            **model.to_json(),
            "about": "Fitted by bench/calibrate_relevance.py on the built-in dev set and the "
            f"odd-numbered unseen-tools items ({len(rows)} requests); the threshold decides the "
            f"most of them right while answering at least {args.floor:.0%} of those no tool "
            "fits. See llmos_shell/planning/relevance.py.",
        }
        (ROOT / "prompts" / "relevance.json").write_text(json.dumps(stored, indent=1) + "\n")
        print("written to prompts/relevance.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
