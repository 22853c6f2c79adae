"""The false-refusal dev set (bench/data/refusals_dev.jsonl) and the answer labels
(bench/data/answers_asked.json): well formed and true to the tools. Model-free."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from llmos_shell.registry import discover

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"


def test_the_refusal_set_covers_tools_knowledge_and_out_of_scope() -> None:
    items = [json.loads(line) for line in (DATA / "refusals_dev.jsonl").read_text().splitlines()]
    registry = discover(None)
    kinds = Counter(item["kind"] for item in items)
    assert kinds["tool"] >= 40 and kinds["knowledge"] >= 10 and kinds["out_of_scope"] >= 10
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        if item["kind"] == "tool":
            assert item["tools"] and all(name in registry for name in item["tools"]), item
    served = {name for item in items if item["kind"] == "tool" for name in item["tools"]}
    assert served >= {item.name for item in registry}  # every built-in tool is asked for


def test_every_answer_item_with_a_result_names_the_values_that_answer_it() -> None:
    items = [json.loads(line) for line in (DATA / "answers_dev.jsonl").read_text().splitlines()]
    asked = json.loads((DATA / "answers_asked.json").read_text())["asked"]
    assert {i["id"] for i in items if i.get("ok", True)} == set(asked)
