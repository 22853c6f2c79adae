"""Fit the call-or-answer model of `llmos_shell/planning/relevance.py` and its thresholds.

    python bench/calibrate_relevance.py [--write]

The calibration requests are the built-in dev set (`plan_dev.jsonl`, with the built-in
tools) and the odd-numbered items of the unseen-tools set (`unseen_dev.jsonl`, with the
tools each offers); the even-numbered unseen items are held out and only scored. No model
is loaded: the features come from the embeddings alone. A small model left to choose
between calling and answering mostly answers, so the choice is made here: one threshold,
the one that decides the most calibration requests right while answering at least
`--floor` of those no tool fits (a tool is called at or above it, an answer given below).
The second-look line (`second_look_above`, on the best tool's example similarity) is set
just above every calibration request that no tool fits, that the answer line answers and
that is no question of general knowledge: below the answer line, a request whose best tool
is closer than that is planned with the tool. `--write` stores the result in
`prompts/relevance.json`.
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

from llmos_shell.planning.relevance import (  # noqa: E402
    RelevanceModel,
    asks_general_knowledge,
    fit,
    shipped_model,
)
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


SECOND_LOOK_STEP = 0.01  # how far above the closest tool-less request the line is drawn


def second_look_line(
    model: RelevanceModel,
    rows: list[tuple[dict[str, float], bool, str]],
    requests: dict[str, str],
) -> float:
    """Just above the best tool's similarity for every answered request no tool fits."""
    tool_less = [
        f["tool"]
        for f, fits, key in rows
        if not fits
        and model.probability(f) < model.answer_only_below
        and not asks_general_knowledge(requests[key])
    ]
    return round(max(tool_less, default=1.0) + SECOND_LOOK_STEP, 3)


def second_looks(
    model: RelevanceModel,
    rows: list[tuple[dict[str, float], bool, str]],
    requests: dict[str, str],
) -> dict[str, int]:
    """What the second look changes: requests it sends to a tool, right and wrong."""
    out = {"tool_planned_right": 0, "tool_planned_wrong": 0}
    for features, fits, key in rows:
        if model.probability(features) < model.answer_only_below and model.second_look(
            features, requests[key]
        ):
            out["tool_planned_right" if fits else "tool_planned_wrong"] += 1
    return out


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
    parser.add_argument(
        "--second-look-only",
        action="store_true",
        help="keep the shipped weights and thresholds; draw (and with --write store) only "
        "the second-look line",
    )
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
    shipped = shipped_model()
    if args.second_look_only and shipped is not None:
        weights, bias = dict(shipped.weights), shipped.bias
        threshold = shipped.answer_only_below
    else:
        weights, bias = fit((f, fits) for f, fits, _ in rows)
        threshold = best_threshold(RelevanceModel(weights, bias, 0.0, 1.0), rows, args.floor)
    model = RelevanceModel(weights, bias, threshold, threshold)
    calibration = [*_lines(HERE / "data" / "plan_dev.jsonl"), *calibration_unseen]
    requests = {i["id"]: i["request"] for i in [*calibration, *held_out]}
    line = second_look_line(model, rows, requests)
    model = RelevanceModel(weights, bias, threshold, threshold, line)
    held = features_of(held_out, unseen_shortlist)
    report = {
        "model": model.to_json(),
        "calibration": decisions(model, rows),
        "held_out_unseen": decisions(model, held),
        "second_look_calibration": second_looks(model, rows, requests),
        "second_look_held_out": second_looks(model, held, requests),
    }
    print(json.dumps(report, indent=1))
    if args.write and args.second_look_only:
        target = ROOT / "prompts" / "relevance.json"
        stored = json.loads(target.read_text())
        stored["second_look_above"] = line
        target.write_text(json.dumps(stored, indent=1) + "\n")
        print("second-look line written to prompts/relevance.json")
    elif args.write:
        stored = {
            **model.to_json(),
            "about": "Fitted by bench/calibrate_relevance.py on the built-in dev set and the "
            f"odd-numbered unseen-tools items ({len(rows)} requests); the threshold decides the "
            f"most of them right while answering at least {args.floor:.0%} of those no tool "
            "fits; the second-look line is just above every such request no tool fits. See "
            "llmos_shell/planning/relevance.py.",
        }
        (ROOT / "prompts" / "relevance.json").write_text(json.dumps(stored, indent=1) + "\n")
        print("written to prompts/relevance.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
