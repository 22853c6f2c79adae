"""The planner's development set, bench/data/plan_dev.jsonl, and the few steps the model tests
once asserted exactly, bench/data/plan_smoke.jsonl: well formed and true to the tools.

Fast and model-free: it checks the file's shape, that every expected tool and argument exists
in the registry, that expected values fit the tools' schemas and parsers, and that the set
covers what it is meant to cover (see bench/data/README.md for the format).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
import pytest

from llmos_shell.registry import Registry, Tool, discover
from llmos_shell.vocabulary.units import parse_age, parse_size

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "plan_dev.jsonl"
SMOKE = DATA.with_name("plan_smoke.jsonl")

TAGS = frozenset(
    {
        "files", "search", "read", "write", "copy_move", "delete", "trash", "disk",
        "processes", "kill", "system", "network", "shell", "no_tool", "typo", "vague",
        "followup", "cwd", "slang", "long", "polite", "command_style", "question", "ambiguous",
        "memory",
        "notify", "schedule",
    }
)  # fmt: skip
TOOL_TAG = {
    "remember": "memory",
    "recall": "memory",
    "forget": "memory",
    "list_directory": "files",
    "find_files": "files",
    "search_text": "search",
    "read_file": "read",
    "write_file": "write",
    "copy_path": "copy_move",
    "move_path": "copy_move",
    "delete_path": "delete",
    "list_trash": "trash",
    "restore_from_trash": "trash",
    "disk_usage": "disk",
    "list_processes": "processes",
    "kill_process": "kill",
    "run_shell": "shell",
    "system_info": "system",
    "network_info": "network",
    "notify": "notify",
    "schedule": "schedule",
    None: "no_tool",
}
SIZE_ARGS = {("find_files", "min_size"), ("find_files", "max_size")}
TIME_ARGS = {("find_files", "modified_within"), ("find_files", "modified_before")}
MATCHER_KEYS = frozenset({"any_of", "absent", "contains", "program"})
ITEM_KEYS = frozenset({"id", "request", "expect", "tags", "cwd", "history"})
ID_RE = re.compile(r"^[a-z_]+-\d{3}$")


def _load(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"{path.name}: line {number} is blank"
        item = json.loads(line)
        assert isinstance(item, dict), f"{path.name}: line {number} is not a JSON object"
        items.append(item)
    return items


ITEMS = _load(DATA) + _load(SMOKE)  # one format; no request in both


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return discover(tmp_path / "plugins")


def _types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a property accepts, null left out."""
    variants = prop.get("anyOf", [prop])
    return {variant["type"] for variant in variants if variant.get("type") not in (None, "null")}


def _check_plain(tool: str, arg: str, value: Any, prop: dict[str, Any], where: str) -> None:
    """A plain expected value must be one the tool's schema (and its parsers) accept."""
    types = _types(prop)
    if "enum" in prop:
        assert value in prop["enum"], f"{where}: {value!r} is not one of {prop['enum']}"
    if "boolean" in types:
        assert isinstance(value, bool), f"{where}: {value!r} is not a boolean"
    elif "integer" in types:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: not an integer"
        assert value >= 1, f"{where}: {value} must be positive"
    elif "number" in types:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
    elif "string" in types:
        assert isinstance(value, str) and value.strip(), f"{where}: {value!r} is not a string"
    parser = (
        parse_size if (tool, arg) in SIZE_ARGS else parse_age if (tool, arg) in TIME_ARGS else None
    )
    if parser is not None:
        try:
            parser(value)
        except ValueError as exc:
            pytest.fail(f"{where}: the tool cannot read {value!r}: {exc}")


def _check_value(
    tool: str, arg: str, value: Any, prop: dict[str, Any], where: str, top: bool = True
) -> None:  # top: the value itself, not an option inside any_of
    """An expected value: plain, or a matcher object ({any_of}, {absent}, {contains, program})."""
    if not isinstance(value, dict):
        assert not isinstance(value, list), f"{where}: a bare list; use any_of"
        _check_plain(tool, arg, value, prop, where)
        return
    keys = set(value)
    assert keys and keys <= MATCHER_KEYS, f"{where}: unknown matcher keys {keys - MATCHER_KEYS}"
    if "absent" in keys:
        assert top and keys == {"absent"} and value["absent"] is True, f"{where}: bad absent"
        assert "default" in prop or "null" in str(prop.get("anyOf")), f"{where}: required"
        return
    if "any_of" in keys:
        assert keys == {"any_of"}, f"{where}: any_of stands alone"
        options = value["any_of"]
        assert isinstance(options, list) and len(options) >= 2, f"{where}: any_of needs 2+"
        for option in options:
            _check_value(tool, arg, option, prop, where, top=False)
        return
    assert "string" in _types(prop), f"{where}: contains/program only fit string arguments"
    if "contains" in keys:
        needles = value["contains"]
        needles = [needles] if isinstance(needles, str) else needles
        assert isinstance(needles, list) and needles, where
        assert all(isinstance(n, str) and n.strip() for n in needles), where
    if "program" in keys:
        assert (tool, arg) == ("run_shell", "command"), f"{where}: program is for commands"
        programs = value["program"]
        programs = [programs] if isinstance(programs, str) else programs
        assert isinstance(programs, list) and programs, where
        assert all(isinstance(p, str) and re.fullmatch(r"[\w.+-]+", p) for p in programs), where


def test_the_file_has_enough_well_formed_items() -> None:
    assert len(ITEMS) >= 170
    for item in ITEMS:
        where = item.get("id", item)
        assert {"id", "request", "expect", "tags"} <= set(item) <= ITEM_KEYS, where
        assert isinstance(item["id"], str) and ID_RE.match(item["id"]), where
        assert isinstance(item["request"], str) and item["request"].strip(), where
        assert item["request"] == item["request"].strip(), where
        expect = item["expect"]
        assert isinstance(expect, dict) and set(expect) == {"tool", "arguments"}, where
        assert expect["tool"] is None or isinstance(expect["tool"], str), where
        assert isinstance(expect["arguments"], dict), where
        tags = item["tags"]
        assert isinstance(tags, list) and tags and len(set(tags)) == len(tags), where
        assert set(tags) <= TAGS, f"{where}: unknown tags {set(tags) - TAGS}"
        if "cwd" in item:
            assert isinstance(item["cwd"], str) and item["cwd"].startswith("/"), where
        if "history" in item:
            assert isinstance(item["history"], list) and item["history"], where


def test_ids_and_requests_are_unique() -> None:
    ids = Counter(item["id"] for item in ITEMS)
    assert [name for name, count in ids.items() if count > 1] == []
    requests = Counter(_key(item["request"]) for item in ITEMS)
    assert [text for text, count in requests.items() if count > 1] == []


def test_tags_agree_with_the_item() -> None:
    for item in ITEMS:
        tags = set(item["tags"])
        tool = item["expect"]["tool"]
        assert TOOL_TAG.get(tool, "?") in tags, f"{item['id']}: needs tag {TOOL_TAG.get(tool)}"
        assert ("followup" in tags) == ("history" in item), f"{item['id']}: followup vs history"
        assert ("cwd" in tags) == ("cwd" in item), f"{item['id']}: cwd tag vs cwd field"


def test_expected_calls_fit_the_registry(registry: Registry) -> None:
    for item in ITEMS:
        where = item["id"]
        name, arguments = item["expect"]["tool"], item["expect"]["arguments"]
        if name is None:
            assert arguments == {}, f"{where}: a plain answer has no arguments"
            continue
        assert name in registry.names(), f"{where}: no tool {name!r}"
        schema = registry.get(name).parameters_schema()
        props = schema.get("properties", {})
        for arg, value in arguments.items():
            assert arg in props, f"{where}: {name} has no argument {arg!r}"
            _check_value(name, arg, value, props[arg], f"{where} {name}.{arg}")
        for required in schema.get("required", []):
            assert required in arguments, f"{where}: expectation leaves out {required!r}"
        if name == "kill_process":
            given = {arg for arg, value in arguments.items() if value != {"absent": True}}
            assert given & {"pid", "name"}, f"{where}: a kill names a pid or a name"


def test_history_turns_are_real_calls(registry: Registry) -> None:
    for item in ITEMS:
        for turn in item.get("history", []):
            where = item["id"]
            assert set(turn) == {"request", "tool", "arguments"}, where
            assert isinstance(turn["request"], str) and turn["request"].strip(), where
            assert turn["tool"] in registry.names(), f"{where}: no tool {turn['tool']!r}"
            tool: Tool = registry.get(turn["tool"])
            try:
                tool.validate(turn["arguments"])
            except pydantic.ValidationError as exc:
                pytest.fail(f"{where}: history arguments do not fit {tool.name}: {exc}")


def test_no_request_copies_a_prompt_example(registry: Registry) -> None:
    shown = {
        _key(example.request)
        for name in registry.names()
        for example in registry.get(name).examples
    }
    conversations = json.loads(
        resources.files("llmos_shell.prompts").joinpath("conversations.json").read_text("utf-8")
    )
    for conversation in conversations:
        for role, content in conversation["turns"]:
            if role == "user":
                shown.add(_key(content))
    requests = {_key(item["request"]) for item in ITEMS}
    for item in ITEMS:
        requests.update(_key(turn["request"]) for turn in item.get("history", []))
    assert sorted(requests & shown) == []


def test_coverage(registry: Registry) -> None:
    tools = Counter(item["expect"]["tool"] for item in ITEMS)
    thin = {name: tools[name] for name in registry.names() if tools[name] < 6}
    assert thin == {}, f"tools with fewer than 6 items: {thin}"
    assert tools[None] >= 20
    assert tools["run_shell"] >= 10
    tags = Counter(tag for item in ITEMS for tag in item["tags"])
    assert tags["followup"] >= 12
    assert tags["cwd"] >= 12
    for tag in ("typo", "vague", "slang", "long", "polite", "command_style", "question"):
        assert tags[tag] >= 3, f"too few items tagged {tag}"
