"""Check the two-turn dev set `bench/data/followups.jsonl` against the built-in tools.

    python bench/check_followups.py [--items PATH] [--tools-dir DIR]

Standard library only: the built-in tools' schemas are read from `tools/*.py` by parsing
the `@tool` functions (parameter names, types, `Literal` enums, defaults; a parameter
without a default is required), so nothing of the package is imported or run.
`builtin_specs()` gives those schemas in the form `unseen_scoring.score` takes.

What is checked (see bench/data/README.md for the format):

- structure: unique ids (f001...), `kind` follow-up or unrelated, a first turn with a
  request, an outcome (ok, declined, failed) and either a call of a built-in tool whose
  arguments fit its schema or no call and an answer; a second request with an expectation
  in the unseen-tools form (`unseen_scoring`), with optional alternatives under `or`;
- expected arguments: properties of the tool, required ones present and never allowed to be
  absent, values of the right type and from the enums;
- tags: from the vocabulary; those that follow from the data (declined-first, failed-first,
  answer-first, same-tool, no-call) exactly where they apply;
- unrelated pairs: no expected value is an argument value of the first turn unless the second
  request states it itself (paths compared after expanding ~ and resolving against the home);
- follow-ups: something of the first turn carries over (its tool, or a value from its call,
  its request or its answer), unless the right step is a plain answer;
- satisfiable: each expectation (and alternative) is met by a call that fits the schema;
- the balance: 60 or more pairs, half follow-ups and half unrelated.
"""

from __future__ import annotations

import argparse
import ast
import json
import posixpath
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_unseen_dev import Checker, check_witness, norm  # noqa: E402

DATA = HERE / "data"
TOOLS_DIR = HERE.parent / "tools"
HOME = "/home/alex"  # the person's home and working directory in every pair
PATH_ARGS = {"path", "source", "destination", "cwd"}

DERIVED_TAGS = {"declined-first", "failed-first", "answer-first", "same-tool", "no-call"}
JUDGED_TAGS = {
    "pronoun",  # "it", "that", "those", "them"
    "same-in-other-place",  # the same request for another folder
    "narrowing",  # "only the big ones", "just the chrome ones"
    "changed-arg",  # one argument changes, the rest carries over
    "ordinal",  # "the second one", "the first one"
    "retry",  # "try again", "try again with sudo"
    "re-ask",  # the person now wants what they declined
    "safety",  # the careful step differs from the literal one
    "trap",  # an unrelated request that reproduces a seen failure (issue 9)
    "plugin-value",  # the first turn has note- or plugin-like text that must not leak
}
VOCABULARY = DERIVED_TAGS | JUDGED_TAGS
OUTCOMES = {"ok", "declined", "failed"}
KINDS = {"follow-up", "unrelated"}


# --- built-in schemas, read from the source -------------------------------------------------


def _annotation_schema(node: ast.expr | None) -> dict[str, Any]:
    """JSON Schema of a parameter annotation: str, int, float, bool, Literal[...], X | None."""
    if node is None:
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [
            p
            for p in (node.left, node.right)
            if not (isinstance(p, ast.Constant) and p.value is None)
        ]
        return _annotation_schema(parts[0]) if len(parts) == 1 else {}
    if isinstance(node, ast.Name):
        return {
            "str": {"type": "string"},
            "int": {"type": "integer"},
            "float": {"type": "number"},
            "bool": {"type": "boolean"},
        }.get(node.id, {})
    if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "Literal":
        values = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return {"type": "string", "enum": [ast.literal_eval(v) for v in values]}
    return {}


def builtin_specs(tools_dir: Path = TOOLS_DIR) -> dict[str, dict[str, Any]]:
    """name -> {"name", "parameters"} for every @tool function in tools_dir/*.py."""
    specs: dict[str, dict[str, Any]] = {}
    for path in sorted(tools_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            if not any(
                isinstance(d, ast.Call) and getattr(d.func, "id", "") == "tool"
                for d in node.decorator_list
            ):
                continue
            args = node.args.args
            defaults = [None] * (len(args) - len(node.args.defaults)) + list(node.args.defaults)
            properties: dict[str, Any] = {}
            required: list[str] = []
            for arg, default in zip(args, defaults, strict=True):
                schema = _annotation_schema(arg.annotation)
                if default is None:
                    required.append(arg.arg)
                else:
                    value = ast.literal_eval(default)
                    if value is not None:
                        schema["default"] = value
                properties[arg.arg] = schema
            parameters: dict[str, Any] = {"type": "object", "properties": properties}
            if required:
                parameters["required"] = required
            specs[node.name] = {"name": node.name, "parameters": parameters}
    return specs


# --- helpers ----------------------------------------------------------------------------------


def norm_path(text: str) -> str:
    value = text.strip()
    if value == "~" or value.startswith("~/"):
        value = HOME + value[1:]
    if not value.startswith("/"):
        value = posixpath.join(HOME, value)
    return posixpath.normpath(value).casefold()


def plain_values(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """(argument name, value) for every string or number inside a call's arguments."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in plain_values(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in plain_values(v, key)]
    if isinstance(value, bool) or value is None:
        return []
    return [(key, value)]


def listing_options(spec: Any) -> list[Any]:
    """The strings and numbers an expectation accepts (words of $contains included)."""
    if isinstance(spec, dict) and "$contains" in spec:
        return list(spec["$contains"])
    if isinstance(spec, dict) and "$fields" in spec:
        return [o for sub in spec["$fields"].values() for o in listing_options(sub)]
    if isinstance(spec, list):
        found: list[Any] = []
        for option in spec:
            if isinstance(option, (dict, list)):
                found += listing_options(option if isinstance(option, dict) else [*option])
            elif option is not None and not isinstance(option, bool):
                found.append(option)
        return found
    return []


def same_value(key: str, a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        if key in PATH_ARGS:
            return norm_path(a) == norm_path(b)
        return norm(a) == norm(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return False


def stated_in(option: Any, text: str) -> bool:
    if isinstance(option, str):
        return norm(option) in norm(text)
    return str(option) in text


# --- the check -------------------------------------------------------------------------------


class FollowupChecker(Checker):
    def check_call(self, where: str, call: Any, specs: dict[str, Any]) -> None:
        if not isinstance(call, dict) or set(call) != {"tool", "arguments"}:
            self.fail(where, 'first.call must be {"tool", "arguments"} or null')
            return
        name, arguments = call["tool"], call["arguments"]
        if name not in specs:
            self.fail(where, f"first.call names {name!r}, not a built-in tool")
            return
        schema = specs[name]["parameters"]
        for problem in self.value_problems(arguments, schema):
            self.fail(where, f"first.call: {problem}")

    def check_expect(self, where: str, expect: Any, specs: dict[str, Any]) -> None:  # type: ignore[override]
        if not isinstance(expect, dict) or not {"tool", "arguments"} <= set(expect) <= {
            "tool",
            "arguments",
            "or",
        }:
            self.fail(where, 'second.expect must be {"tool", "arguments"} with an optional "or"')
            return
        for alternative in [expect, *expect.get("or", [])]:
            if set(alternative) - {"tool", "arguments", "or"} or (
                "or" in alternative and alternative is not expect
            ):
                self.fail(where, "an alternative is a plain {tool, arguments}")
                continue
            name, arguments = alternative.get("tool"), alternative.get("arguments")
            if not isinstance(arguments, dict):
                self.fail(where, "arguments is not an object")
                continue
            if name is None:
                if arguments:
                    self.fail(where, "no tool expected, yet arguments are")
                continue
            if name not in specs:
                self.fail(where, f"expected tool {name!r} is not a built-in tool")
                continue
            schema = specs[name]["parameters"]
            props = schema["properties"]
            for req in schema.get("required", []):
                spec = arguments.get(req)
                if spec is None:
                    self.fail(where, f"required argument {req!r} of {name} is not expected")
                elif isinstance(spec, list) and None in spec:
                    self.fail(where, f"required argument {req!r} of {name} is allowed to be absent")
            for key, spec in arguments.items():
                if key not in props:
                    self.fail(where, f"{key!r} is not a parameter of {name}")
                    continue
                for problem in self.listing_problems(spec, props[key]):
                    self.fail(where, f"{key}: {problem}")

    def check_pairs(self, items: list[dict[str, Any]], specs: dict[str, Any]) -> None:
        seen: set[str] = set()
        for item in items:
            where = item.get("id", "?")
            if set(item) != {"id", "kind", "first", "second", "tags"}:
                self.fail(where, f"keys {sorted(item)}")
                continue
            if not re.fullmatch(r"f\d{3}", where) or where in seen:
                self.fail(where, "id is not fNNN, or given twice")
            seen.add(where)
            if item["kind"] not in KINDS:
                self.fail(where, f"kind {item['kind']!r}")
            first, second = item["first"], item["second"]
            if not isinstance(first, dict) or set(first) != {
                "request",
                "call",
                "answer",
                "outcome",
            }:
                self.fail(where, "first must have request, call, answer, outcome")
                continue
            if not isinstance(second, dict) or set(second) != {"request", "expect"}:
                self.fail(where, "second must have request and expect")
                continue
            for turn, label in ((first, "first"), (second, "second")):
                if not isinstance(turn["request"], str) or not turn["request"].strip():
                    self.fail(where, f"{label}.request is empty")
            if first["outcome"] not in OUTCOMES:
                self.fail(where, f"first.outcome {first['outcome']!r}")
            if first["answer"] is not None and not isinstance(first["answer"], str):
                self.fail(where, "first.answer is text or null")
            if first["call"] is None:
                if first["outcome"] != "ok" or not first["answer"]:
                    self.fail(where, "a first turn without a call is an ok answer with its text")
            else:
                self.check_call(where, first["call"], specs)
                if first["outcome"] == "failed" and not first["answer"]:
                    self.fail(where, "a failed first call carries its error as the answer")
            self.check_expect(where, second["expect"], specs)
            self.check_tags(where, item)
            if not any(p.startswith(f"{where}:") for p in self.problems):
                check_witness(self, where, second["expect"], specs)
            if item["kind"] == "unrelated":
                self.check_no_leak(where, item)
            else:
                self.check_carries_over(where, item)

    def check_tags(self, where: str, item: dict[str, Any]) -> None:  # type: ignore[override]
        tags = item["tags"]
        if not isinstance(tags, list) or len(set(tags)) != len(tags):
            self.fail(where, "tags must be a list without repeats")
            return
        for tag in tags:
            if tag not in VOCABULARY:
                self.fail(where, f"tag {tag!r} is not in the vocabulary")
        first, expect = item["first"], item["second"]["expect"]
        derived = set()
        if first["outcome"] == "declined":
            derived.add("declined-first")
        if first["outcome"] == "failed":
            derived.add("failed-first")
        if first["call"] is None:
            derived.add("answer-first")
        if expect.get("tool") is None:
            derived.add("no-call")
        elif first["call"] is not None and expect.get("tool") == first["call"]["tool"]:
            derived.add("same-tool")
        for tag in sorted(DERIVED_TAGS):
            if tag in derived and tag not in tags:
                self.fail(where, f"missing tag {tag!r}")
            if tag in tags and tag not in derived:
                self.fail(where, f"tag {tag!r} does not apply")
        if "trap" in tags and item["kind"] != "unrelated":
            self.fail(where, "trap marks unrelated pairs")
        for tag in ("pronoun", "same-in-other-place", "narrowing", "ordinal", "retry", "re-ask"):
            if tag in tags and item["kind"] != "follow-up":
                self.fail(where, f"{tag} marks follow-ups")

    def check_no_leak(self, where: str, item: dict[str, Any]) -> None:
        call = item["first"]["call"]
        if call is None:
            return
        earlier = plain_values(call["arguments"])
        request = item["second"]["request"]
        expect = item["second"]["expect"]
        for alternative in [expect, *expect.get("or", [])]:
            for key, spec in alternative.get("arguments", {}).items():
                options = listing_options(spec)
                leaked = [
                    o
                    for o in options
                    for k, v in earlier
                    if same_value(key if key in PATH_ARGS else k, o, v)
                ]
                if leaked and not any(stated_in(o, request) for o in options):
                    self.fail(
                        where,
                        f"{key}: {leaked[0]!r} comes from the first turn, not the second request",
                    )

    def check_carries_over(self, where: str, item: dict[str, Any]) -> None:
        """A follow-up takes something from the first turn: its tool again (an elliptical
        "and ~/Pictures?"), or a value of its call, request or answer, where a path may also
        be a folder of the first call with a name from its answer."""
        first, expect = item["first"], item["second"]["expect"]
        if expect.get("tool") is None:
            return
        earlier = plain_values(first["call"]["arguments"]) if first["call"] else []
        if first["call"] and any(
            alt.get("tool") == first["call"]["tool"] for alt in [expect, *expect.get("or", [])]
        ):
            return
        texts = " ".join(t for t in (first["request"], first["answer"] or "") if t)
        second_request = item["second"]["request"]
        for alternative in [expect, *expect.get("or", [])]:
            for key, spec in alternative.get("arguments", {}).items():
                for option in listing_options(spec):
                    if any(
                        same_value(key if key in PATH_ARGS else k, option, v) for k, v in earlier
                    ):
                        return
                    if stated_in(option, texts) and not stated_in(option, second_request):
                        return
                    if key in PATH_ARGS and isinstance(option, str):
                        folder, name = posixpath.split(norm_path(option))
                        if any(k in PATH_ARGS and norm_path(str(v)) == folder for k, v in earlier):
                            return
                        if name and name in norm(texts) and name not in norm(second_request):
                            return
        self.fail(where, "a follow-up whose expectation takes nothing from the first turn")


def report(items: list[dict[str, Any]], checker: FollowupChecker) -> None:
    kinds = Counter(item.get("kind") for item in items)
    tags = Counter(tag for item in items for tag in item.get("tags", []))
    by_kind = {
        k: Counter(t for i in items if i.get("kind") == k for t in i.get("tags", [])) for k in KINDS
    }
    tools = Counter(
        str(item["second"]["expect"].get("tool"))
        for item in items
        if isinstance(item.get("second"), dict)
    )
    print(f"{len(items)} pairs: " + ", ".join(f"{k} {kinds[k]}" for k in sorted(KINDS)))
    print("tags:", ", ".join(f"{t} {c}" for t, c in sorted(tags.items())))
    for kind in sorted(KINDS):
        print(f"  {kind}:", ", ".join(f"{t} {c}" for t, c in sorted(by_kind[kind].items())))
    print("second-turn tools:", ", ".join(f"{t} {c}" for t, c in sorted(tools.items())))
    if len(items) < 60:
        checker.fail("pairs", f"{len(items)} pairs; the set needs 60 or more")
    if items and abs(kinds["follow-up"] - kinds["unrelated"]) > len(items) * 0.1:
        checker.fail("pairs", "follow-ups and unrelated pairs are not about half each")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=Path, default=DATA / "followups.jsonl")
    parser.add_argument("--tools-dir", type=Path, default=TOOLS_DIR)
    args = parser.parse_args(argv)
    checker = FollowupChecker()
    specs = builtin_specs(args.tools_dir)
    if len(specs) < 10:
        checker.fail("tools", f"only {len(specs)} built-in tools found in {args.tools_dir}")
    items = []
    for number, line in enumerate(args.items.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                checker.fail(f"line {number}", f"not JSON ({exc})")
    checker.check_pairs(items, specs)
    report(items, checker)
    for problem in checker.problems:
        print("PROBLEM", problem)
    print(f"{len(checker.problems)} problems")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
