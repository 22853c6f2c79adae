"""Check the unseen-tools dev set: `bench/data/unseen_tools.json` and `unseen_dev.jsonl`.

    python bench/check_unseen_dev.py [--tools PATH] [--items PATH]

Prints the counts by tag and by tool, and every problem found; exits 1 when there is one.
Standard library only. What is checked (see bench/data/README.md for the format):

- tools: OpenAI-style specs, unique names, an object schema whose `required` names are
  properties, enums and defaults that fit their types, minimum <= maximum, arrays with items;
- items: unique ids (u001...) and requests, 1 to 5 offered tools that exist, the expected tool
  among them (or null with no arguments), expected arguments that are properties of its
  schema, every required property expected (and never allowed to be absent), acceptable values
  of the right type, enum values from the schema, numbers within minimum/maximum, nested
  objects and array items checked the same way;
- tags: from the vocabulary; the tags that follow from the data (single, multi, no-fit,
  confusable, number, enum, array, nested, long) are exactly where they apply, and the ones
  that need judgement have what they claim (optional-unset: an optional argument must stay
  unset; paraphrased-value: exactly the items with a value not copyable from the request);
- satisfiable: a call built from the first accepted value of every argument fits the tool's
  schema and scores right under `unseen_scoring.score`;
- the mix: 270+ items, every tool expected at least 3 times, about 30% single-tool calls, 50%
  multi-tool calls and 20% no-fit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from unseen_scoring import score  # noqa: E402

# Tools a planner easily takes for one another; `confusable` marks a call item that offers
# a partner of its expected tool.
CONFUSABLE_GROUPS = [
    {"get_weather", "get_forecast"},
    {"send_email", "draft_email", "send_sms"},
    {"search_flights", "book_flight", "get_flight_status"},
    {"create_event", "list_events", "create_reminder"},
    {"create_reminder", "list_reminders", "set_alarm", "start_timer"},
    {"convert_currency", "get_exchange_rate", "convert_units"},
    {"set_light", "get_device_status", "lock_door", "set_thermostat"},
    {"play_music", "add_to_playlist", "set_volume"},
    {"create_issue", "list_issues", "create_pull_request"},
    {"search_packages", "get_package_info"},
    {"run_sql_query", "list_tables"},
    {"create_note", "search_notes"},
    {"find_contact", "add_contact"},
    {"search_products", "add_to_cart"},
    {"find_places", "search_restaurants", "get_directions"},
    {"get_headlines", "search_news"},
    {"share_file", "create_share_link"},
    {"log_workout", "get_activity_summary"},
]

DERIVED_TAGS = {
    "single",
    "multi",
    "no-fit",
    "confusable",
    "number",
    "enum",
    "array",
    "nested",
    "long",
}
JUDGED_TAGS = {
    "optional-unset",  # an optional argument a planner is tempted to fill must stay unset
    "paraphrased-value",  # a value the request states in other words (checked both ways)
    "long-string",  # a free-text argument of a sentence or more (a body, a note, a query)
    "typo",  # the request has a misspelling
    "units",  # the request states a quantity with a unit (km, °F, minutes, %, a currency)
    "chit-chat",  # no-fit: greetings, thanks, small talk
    "knowledge",  # no-fit: a question answered from general knowledge
    "not-served",  # no-fit: an offered tool looks related but cannot do what is asked
    "unrelated-tools",  # no-fit: the tool it needs is not offered; the offered ones are others
}
VOCABULARY = DERIVED_TAGS | JUDGED_TAGS
LONG_REQUEST = 120  # characters; `long` marks requests longer than this
ITEM_KEYS = {"id", "request", "tools", "expect", "tags"}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def numbers_in(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d+(?:[.,]\d+)?", text)]


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    # --- tool specs -----------------------------------------------------------------------

    def check_tools(self, tools: Any) -> dict[str, dict[str, Any]]:
        by_name: dict[str, dict[str, Any]] = {}
        if not isinstance(tools, list) or not tools:
            self.fail("tools", "must be a non-empty JSON list")
            return by_name
        for position, spec in enumerate(tools):
            where = f"tools[{position}]"
            if not isinstance(spec, dict) or spec.get("type") != "function":
                self.fail(where, 'not {"type": "function", "function": {...}}')
                continue
            function = spec.get("function", {})
            name = function.get("name")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                self.fail(where, f"bad name {name!r}")
                continue
            where = f"tool {name}"
            if name in by_name:
                self.fail(where, "given twice")
            if not str(function.get("description", "")).strip():
                self.fail(where, "no description")
            params = function.get("parameters")
            if not isinstance(params, dict) or params.get("type") != "object":
                self.fail(where, "parameters is not an object schema")
                continue
            self.check_schema(params, where)
            by_name[name] = function
        return by_name

    def check_schema(self, schema: dict[str, Any], where: str) -> None:
        kind = schema.get("type")
        if kind not in {"object", "array", "string", "number", "integer", "boolean"}:
            self.fail(where, f"type {kind!r}")
            return
        if kind == "object" and "properties" in schema:
            props = schema["properties"]
            for req in schema.get("required", []):
                if req not in props:
                    self.fail(where, f"required {req!r} is not a property")
            for key, sub in props.items():
                self.check_schema(sub, f"{where}.{key}")
        if kind == "array":
            if not isinstance(schema.get("items"), dict):
                self.fail(where, "array without items")
            else:
                self.check_schema(schema["items"], f"{where}[]")
        if "enum" in schema:
            for value in schema["enum"]:
                if not self.type_ok(value, {"type": kind}):
                    self.fail(where, f"enum value {value!r} is not a {kind}")
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None and low > high:
            self.fail(where, "minimum > maximum")
        if "default" in schema and not self.value_problems(schema["default"], schema) == []:
            self.fail(where, f"default {schema['default']!r} does not fit the schema")

    # --- values against schemas ----------------------------------------------------------

    @staticmethod
    def type_ok(value: Any, schema: dict[str, Any]) -> bool:
        kind = schema.get("type")
        if kind == "string":
            return isinstance(value, str)
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "array":
            return isinstance(value, list)
        if kind == "object":
            return isinstance(value, dict)
        return True

    def value_problems(self, value: Any, schema: dict[str, Any]) -> list[str]:
        """Why a plain acceptable value cannot be a valid argument (empty when it can)."""
        if isinstance(value, dict) and set(value) in ({"$contains"}, {"$fields"}):
            return self.matcher_problems(value, schema)
        if not self.type_ok(value, schema):
            return [f"{value!r} is not of type {schema.get('type')}"]
        problems = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{value!r} is not one of the enum {schema['enum']}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                problems.append(f"{value!r} is below the minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                problems.append(f"{value!r} is above the maximum {schema['maximum']}")
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                problems.append(f"{value!r} has fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                problems.append(f"{value!r} has more than {schema['maxItems']} items")
            for element in value:
                problems += self.value_problems(element, schema.get("items", {}))
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for key, sub in value.items():
                if key not in props:
                    problems.append(f"field {key!r} is not a property")
                elif sub is not None:
                    problems += self.value_problems(sub, props[key])
            for req in schema.get("required", []):
                if value.get(req) is None:
                    problems.append(f"required field {req!r} is missing")
        return problems

    def matcher_problems(self, matcher: dict[str, Any], schema: dict[str, Any]) -> list[str]:
        if "$contains" in matcher:
            words = matcher["$contains"]
            if schema.get("type") != "string" or "enum" in schema:
                return ["$contains on an argument that is not free text"]
            if (
                not isinstance(words, list)
                or not words
                or not all(isinstance(w, str) and w.strip() for w in words)
            ):
                return ["$contains needs a non-empty list of words"]
            return []
        fields = matcher["$fields"]
        if schema.get("type") != "object" or not isinstance(fields, dict):
            return ["$fields on an argument that is not an object"]
        problems = []
        for key, spec in fields.items():
            if key not in schema.get("properties", {}):
                problems.append(f"field {key!r} is not a property")
            else:
                problems += self.listing_problems(spec, schema["properties"][key])
        for req in schema.get("required", []):
            if req not in fields or (isinstance(fields[req], list) and None in fields[req]):
                problems.append(f"required field {req!r} may be absent")
        return problems

    def listing_problems(self, spec: Any, schema: dict[str, Any]) -> list[str]:
        if isinstance(spec, dict):
            if set(spec) not in ({"$contains"}, {"$fields"}):
                return [f"an expectation is a list or a $contains/$fields matcher, not {spec!r}"]
            return self.matcher_problems(spec, schema)
        if not isinstance(spec, list) or not spec:
            return [f"an expectation must be a non-empty list of values, not {spec!r}"]
        if spec == [None]:
            return ["[null] alone says nothing: leave the argument out instead"]
        problems = []
        for option in spec:
            if option is not None:
                problems += self.value_problems(option, schema)
        return problems

    # --- copyability: is every stated value a span or a number of the request? -----------

    def copyable(self, option: Any, schema: dict[str, Any], request: str) -> bool:
        if option is None or isinstance(option, bool) or "enum" in schema:
            return True
        if isinstance(option, dict) and set(option) == {"$contains"}:
            return all(norm(word) in norm(request) for word in option["$contains"])
        if isinstance(option, dict) and set(option) == {"$fields"}:
            props = schema.get("properties", {})
            return all(
                self.listing_copyable(spec, props.get(key, {}), request)
                for key, spec in option["$fields"].items()
            )
        if isinstance(option, str):
            return norm(option) in norm(request)
        if isinstance(option, (int, float)):
            return any(abs(n - option) < 1e-9 for n in numbers_in(request))
        if isinstance(option, list):
            return all(self.copyable(e, schema.get("items", {}), request) for e in option)
        if isinstance(option, dict):
            props = schema.get("properties", {})
            return all(self.copyable(v, props.get(k, {}), request) for k, v in option.items())
        return True

    def listing_copyable(self, spec: Any, schema: dict[str, Any], request: str) -> bool:
        if isinstance(spec, dict):
            return self.copyable(spec, schema, request)
        return None in spec or any(self.copyable(o, schema, request) for o in spec)

    # --- items ----------------------------------------------------------------------------

    def check_items(self, items: list[dict[str, Any]], tools: dict[str, dict[str, Any]]) -> None:
        seen_ids: set[str] = set()
        seen_requests: dict[str, str] = {}
        for item in items:
            where = item.get("id", "?")
            if set(item) != ITEM_KEYS:
                self.fail(where, f"keys {sorted(item)}, expected {sorted(ITEM_KEYS)}")
                continue
            if not re.fullmatch(r"u\d{3}", where):
                self.fail(where, "id is not uNNN")
            if where in seen_ids:
                self.fail(where, "id given twice")
            seen_ids.add(where)
            request = item["request"]
            if not isinstance(request, str) or not request.strip():
                self.fail(where, "empty request")
                continue
            if norm(request) in seen_requests:
                self.fail(where, f"same request as {seen_requests[norm(request)]}")
            seen_requests[norm(request)] = where
            offered = item["tools"]
            if not isinstance(offered, list) or not 1 <= len(offered) <= 5:
                self.fail(where, "tools must list 1 to 5 names")
                continue
            if len(set(offered)) != len(offered):
                self.fail(where, "a tool is offered twice")
            for name in offered:
                if name not in tools:
                    self.fail(where, f"offered tool {name!r} does not exist")
            expect = item["expect"]
            if not isinstance(expect, dict) or set(expect) != {"tool", "arguments"}:
                self.fail(where, 'expect must be {"tool", "arguments"}')
                continue
            derived = self.check_expect(where, request, offered, expect, tools)
            self.check_tags(where, item, derived, tools)
            if not any(p.startswith(f"{where}:") for p in self.problems):
                check_witness(self, where, expect, tools)

    def check_expect(
        self,
        where: str,
        request: str,
        offered: list[str],
        expect: dict[str, Any],
        tools: dict[str, dict[str, Any]],
    ) -> set[str]:
        """Problems of the expectation; returns the tags that follow from it."""
        derived = {"single" if len(offered) == 1 else "multi"}
        if len(request) > LONG_REQUEST:
            derived.add("long")
        name, arguments = expect["tool"], expect["arguments"]
        if not isinstance(arguments, dict):
            self.fail(where, "expect.arguments is not an object")
            return derived
        if name is None:
            derived.add("no-fit")
            if arguments:
                self.fail(where, "no tool expected, yet arguments are")
            return derived
        if name not in offered:
            self.fail(where, f"expected tool {name!r} is not among the offered tools")
            return derived
        if name not in tools:
            return derived
        if any(name in group and set(offered) & (group - {name}) for group in CONFUSABLE_GROUPS):
            derived.add("confusable")
        schema = tools[name]["parameters"]
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            spec = arguments.get(req)
            if spec is None:
                self.fail(where, f"required argument {req!r} of {name} is not expected")
            elif isinstance(spec, list) and None in spec:
                self.fail(where, f"required argument {req!r} of {name} is allowed to be absent")
        paraphrased = False
        for key, spec in arguments.items():
            if key not in props:
                self.fail(where, f"{key!r} is not a property of {name}")
                continue
            for problem in self.listing_problems(spec, props[key]):
                self.fail(where, f"{key}: {problem}")
            derived |= self.value_tags(spec, props[key])
            if not self.listing_copyable(spec, props[key], request):
                paraphrased = True
        if paraphrased:
            derived.add("paraphrased-value")
        return derived

    def value_tags(self, spec: Any, schema: dict[str, Any]) -> set[str]:
        """number / enum / array / nested, for an argument expected with a value."""
        options = [spec] if isinstance(spec, dict) else [o for o in spec if o is not None]
        if not options:
            return set()
        tags: set[str] = set()
        kind = schema.get("type")
        if kind in ("number", "integer"):
            tags.add("number")
        if "enum" in schema or "enum" in schema.get("items", {}):
            tags.add("enum")
        if kind == "array":
            tags.add("array")
            if schema.get("items", {}).get("type") == "object":
                tags.add("nested")
        if kind == "object":
            tags.add("nested")
        for option in options:
            if isinstance(option, dict) and set(option) == {"$fields"}:
                for key, sub in option["$fields"].items():
                    tags |= self.value_tags(sub, schema.get("properties", {}).get(key, {}))
            elif isinstance(option, dict):
                for key, sub in option.items():
                    if sub is not None:
                        tags |= self.value_tags([sub], schema.get("properties", {}).get(key, {}))
            elif isinstance(option, list) and kind == "array":
                for element in option:
                    tags |= self.value_tags([element], schema.get("items", {}))
        return tags

    def check_tags(
        self, where: str, item: dict[str, Any], derived: set[str], tools: dict[str, dict[str, Any]]
    ) -> None:
        tags = item["tags"]
        if not isinstance(tags, list) or len(set(tags)) != len(tags):
            self.fail(where, "tags must be a list without repeats")
            return
        for tag in tags:
            if tag not in VOCABULARY:
                self.fail(where, f"tag {tag!r} is not in the vocabulary")
        given = set(tags)
        for tag in sorted(DERIVED_TAGS | {"paraphrased-value"}):
            if tag in derived and tag not in given:
                self.fail(where, f"missing tag {tag!r}")
            if tag in given and tag not in derived:
                self.fail(where, f"tag {tag!r} does not apply")
        name = item["expect"]["tool"]
        no_fit_kinds = given & {"chit-chat", "knowledge", "not-served", "unrelated-tools"}
        if name is None and len(no_fit_kinds) != 1:
            self.fail(
                where,
                "a no-fit item has exactly one of chit-chat, knowledge, not-served, unrelated-tools",
            )
        if name is not None and no_fit_kinds:
            self.fail(where, f"{sorted(no_fit_kinds)} only go on no-fit items")
        if "optional-unset" in given:
            schema = tools.get(name, {}).get("parameters", {}) if name else {}
            optional = set(schema.get("properties", {})) - set(schema.get("required", []))
            if not optional - set(item["expect"]["arguments"]):
                self.fail(where, "optional-unset, yet no optional argument must stay unset")
        if "long-string" in given and name is not None:
            if not any(_is_long_text(spec) for spec in item["expect"]["arguments"].values()):
                self.fail(where, "long-string, yet no argument expects a sentence of text")


def witness_value(spec: Any) -> Any:
    """The first value an argument's listing accepts (None when it may only be absent)."""
    if isinstance(spec, dict) and "$contains" in spec:
        return " ".join(spec["$contains"])
    if isinstance(spec, dict) and "$fields" in spec:
        return witness_arguments(spec["$fields"])
    if isinstance(spec, dict):
        return {k: witness_value([v]) for k, v in spec.items() if v is not None}
    for option in spec:
        if isinstance(option, dict):
            return witness_value(option)
        if isinstance(option, list):
            return [witness_value([element]) for element in option]
        if option is not None:
            return option
    return None


def witness_arguments(listing: dict[str, Any]) -> dict[str, Any]:
    values = {key: witness_value(spec) for key, spec in listing.items()}
    return {key: value for key, value in values.items() if value is not None}


def check_witness(
    checker: Checker, where: str, expect: dict[str, Any], tools: dict[str, Any]
) -> None:
    """Every alternative of an expectation can be met by a call that fits the schema."""
    for alternative in [expect, *expect.get("or", [])]:
        name = alternative.get("tool")
        if name is None or name not in tools or not isinstance(alternative.get("arguments"), dict):
            continue
        try:
            call = {"tool": name, "arguments": witness_arguments(alternative["arguments"])}
        except (TypeError, AttributeError):
            continue  # malformed; reported by the structural checks
        for problem in checker.value_problems(call["arguments"], tools[name]["parameters"]):
            checker.fail(
                where, f"the call its expectation describes does not fit the schema: {problem}"
            )
        if score(call, expect, tools) != (True, True):
            checker.fail(where, "the call its expectation describes does not score right")


def _is_long_text(spec: Any) -> bool:
    if isinstance(spec, dict) and "$contains" in spec:
        return len(spec["$contains"]) >= 2 or len(spec["$contains"][0]) >= 25
    if isinstance(spec, list):
        return any(isinstance(o, str) and len(o) >= 25 for o in spec)
    return False


def report(items: list[dict[str, Any]], tools: dict[str, Any], checker: Checker) -> None:
    total = len(items)
    tags = Counter(tag for item in items for tag in item.get("tags", []))
    expected = Counter(
        item["expect"]["tool"] for item in items if isinstance(item.get("expect"), dict)
    )
    offered = Counter(name for item in items for name in item.get("tools", []))
    sizes = Counter(len(item.get("tools", [])) for item in items)
    no_fit = expected[None]
    single_call = sum(1 for i in items if len(i["tools"]) == 1 and i["expect"]["tool"])
    multi_call = sum(1 for i in items if len(i["tools"]) > 1 and i["expect"]["tool"])
    print(f"{len(tools)} tools, {total} items")
    print(
        f"mix: single-tool calls {single_call} ({single_call / total:.0%}), multi-tool calls "
        f"{multi_call} ({multi_call / total:.0%}), no-fit {no_fit} ({no_fit / total:.0%})"
    )
    print("offered per item:", ", ".join(f"{n}: {sizes[n]}" for n in sorted(sizes)))
    print("tags:", ", ".join(f"{tag} {count}" for tag, count in sorted(tags.items())))
    print(
        "expected per tool:",
        ", ".join(f"{name} {expected[name]}" for name in sorted(tools)),
    )
    if total < 270:
        checker.fail("items", f"{total} items; the set needs 270 or more")
    if len(tools) < 40:
        checker.fail("tools", f"{len(tools)} tools; the set needs 40 or more")
    for name in tools:
        if expected[name] < 3:
            checker.fail(name, f"expected in {expected[name]} items; every tool needs 3 or more")
        if offered[name] == 0:
            checker.fail(name, "never offered")
    for label, count, low, high in (
        ("single-tool calls", single_call, 0.25, 0.35),
        ("multi-tool calls", multi_call, 0.45, 0.55),
        ("no-fit", no_fit, 0.17, 0.25),
    ):
        if total and not low <= count / total <= high:
            checker.fail("mix", f"{label} are {count / total:.0%}, outside {low:.0%}-{high:.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", type=Path, default=DATA / "unseen_tools.json")
    parser.add_argument("--items", type=Path, default=DATA / "unseen_dev.jsonl")
    args = parser.parse_args(argv)
    checker = Checker()
    tools = checker.check_tools(json.loads(args.tools.read_text(encoding="utf-8")))
    items = []
    for number, line in enumerate(args.items.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            checker.fail(f"line {number}", f"not JSON ({exc})")
    checker.check_items(items, tools)
    report(items, tools, checker)
    for problem in checker.problems:
        print("PROBLEM", problem)
    print(f"{len(checker.problems)} problems")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
