"""Scoring one planned step against an item of `bench/data/unseen_dev.jsonl` (or of
`bench/data/followups.jsonl`, whose `second.expect` has the same form).

    python bench/unseen_scoring.py        # runs the examples below as a self-test

`score(call_or_none, expect, tool_spec)` returns `(right_tool, right_call)`:

- `right_tool`: the step is the right kind. When `expect["tool"]` is null the right step is
  a plain answer, so `call_or_none` must be None; otherwise it must be a call of exactly
  that tool (names compared exactly).
- `right_call`: `right_tool`, and the call's arguments meet `expect["arguments"]`. For an
  item whose right step is an answer, both are the same.

`call_or_none` is None for a plain answer, or a mapping with the tool's name under `tool`
(or `name`, as OpenAI writes it) and its arguments under `arguments` (a mapping, or a JSON
string of one, as OpenAI writes it; missing means no arguments).

`tool_spec` is the spec of the expected tool as `unseen_tools.json` holds it (the
`{"type": "function", "function": {...}}` wrapper or the bare function object), or None.
Only its parameters' `default` values are used, see rule 2. Where the expectation has
alternatives naming other tools (below), pass a mapping of tool names to specs instead.

An expectation may list alternatives under `"or"`: further `{"tool", "arguments"}`
objects, any one of which is as right as the first (`followups.jsonl` uses this where
either of two calls resolves a reference, e.g. stopping a process by its pid or by its
name). The step is scored against each and the best result counts.

Rules for arguments:

1. An argument given as null counts as not given.
2. An argument given with exactly the value its schema declares as `default` also counts
   as not given, and an expectation that accepts the default counts it as met when the
   argument is left out. So `"units": ["celsius", null]` and `"units": [null]` are both met
   by a call without `units`, and by one with `"units": "celsius"` when that is the default.
3. Every argument the call gives (after rules 1 and 2) must be listed in the expectation:
   optional fields the request says nothing about stay unset.
4. Every listed argument must be met. A listing is one of:
   - a list of acceptable values; `null` in it means the argument may also be left out;
   - `{"$contains": ["word", ...]}`: the value is a string holding every word, any case
     (for free text the request does not fix word for word: a message body, a note);
   - `{"$fields": {...}}`: the value is an object whose fields meet this nested listing,
     by these same rules (for objects whose fields each have several spellings).
5. Values compare as follows:
   - strings: case-insensitively, with runs of whitespace collapsed and the ends stripped;
     no other normalization (dates, times and units are listed in every accepted spelling);
   - numbers: numerically (3 equals 3.0); a boolean is never a number and a numeric string
     is never a number;
   - booleans: equal;
   - arrays: the same length, and each element meets a different element of the expected
     array (order does not matter);
   - objects: the same keys (a null field counts as left out) and each value meets the
     expected one; an expected value inside an array or object may itself be a
     `$contains` or `$fields` matcher.

Examples (the doctests, run by `python bench/unseen_scoring.py`):

>>> spec = {"type": "function", "function": {"name": "get_weather", "parameters": {
...     "type": "object", "properties": {"location": {"type": "string"},
...     "units": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}}}}}
>>> want = {"tool": "get_weather", "arguments": {"location": ["Paris", "Paris, France"]}}
>>> score({"tool": "get_weather", "arguments": {"location": " paris,  FRANCE"}}, want, spec)
(True, True)
>>> score({"tool": "get_weather", "arguments": {"location": "Paris", "units": "celsius"}},
...       want, spec)  # the default counts as not given
(True, True)
>>> score({"tool": "get_weather", "arguments": {"location": "Paris", "units": "fahrenheit"}},
...       want, spec)  # an optional field the request said nothing about
(True, False)
>>> score({"name": "get_weather", "arguments": '{"location": "Paris"}'}, want, spec)
(True, True)
>>> score({"tool": "get_forecast", "arguments": {"location": "Paris"}}, want, spec)
(False, False)
>>> score(None, want, spec)
(False, False)
>>> score(None, {"tool": None, "arguments": {}}, None)
(True, True)
>>> score({"tool": "get_weather", "arguments": {}}, {"tool": None, "arguments": {}}, None)
(False, False)

Alternatives, and a mapping of specs for them:

>>> kill = {"tool": "kill_process", "arguments": {"pid": [48213]},
...         "or": [{"tool": "kill_process", "arguments": {"name": ["zoom"]}}]}
>>> specs = {"kill_process": {"name": "kill_process", "parameters": {"properties": {
...     "pid": {"type": "integer"}, "name": {"type": "string"},
...     "signal": {"type": "string", "enum": ["TERM", "KILL"], "default": "TERM"}}}}}
>>> score({"tool": "kill_process", "arguments": {"name": "zoom", "signal": "TERM"}}, kill, specs)
(True, True)
>>> score({"tool": "kill_process", "arguments": {"pid": 48213, "name": "zoom"}}, kill, specs)
(True, False)

Numbers, arrays, free text and nested objects:

>>> mail = {"tool": "send_email", "arguments": {
...     "to": [["ana@example.com", "bo@example.com"]],
...     "subject": ["lunch"], "body": {"$contains": ["friday", "noon"]}}}
>>> score({"tool": "send_email", "arguments": {"to": ["BO@example.com", "ana@example.com"],
...        "subject": "Lunch", "body": "Lunch on Friday at noon?"}}, mail, None)
(True, True)
>>> score({"tool": "send_email", "arguments": {"to": ["ana@example.com"],
...        "subject": "Lunch", "body": "Lunch on Friday at noon?"}}, mail, None)
(True, False)
>>> timer = {"tool": "start_timer", "arguments": {"duration": [20], "unit": ["minutes"]}}
>>> score({"tool": "start_timer", "arguments": {"duration": 20.0, "unit": "minutes"}}, timer, None)
(True, True)
>>> score({"tool": "start_timer", "arguments": {"duration": "20", "unit": "minutes"}}, timer, None)
(True, False)
>>> contact = {"tool": "add_contact", "arguments": {"name": ["Tom Reyes"], "address": {
...     "$fields": {"city": ["Bristol"], "country": ["UK", "United Kingdom", None]}}}}
>>> score({"tool": "add_contact", "arguments": {"name": "tom reyes",
...        "address": {"city": "bristol", "country": None}}}, contact, None)
(True, True)
>>> score({"tool": "add_contact", "arguments": {"name": "tom reyes",
...        "address": {"city": "bristol", "street": "1 Main St"}}}, contact, None)
(True, False)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

_MISSING = object()


def score(
    call_or_none: Mapping[str, Any] | None,
    expect: Mapping[str, Any],
    tool_spec: Mapping[str, Any] | None,
) -> tuple[bool, bool]:
    """(right tool or right abstention, right tool and arguments); see the module docstring."""
    alternatives = [expect, *expect.get("or", [])]
    if len(alternatives) > 1:
        results = [
            _score_one(call_or_none, alternative, _spec_for(tool_spec, alternative.get("tool")))
            for alternative in alternatives
        ]
        return max(results, key=lambda result: (result[1], result[0]))
    return _score_one(call_or_none, expect, _spec_for(tool_spec, expect.get("tool")))


def _spec_for(tool_spec: Mapping[str, Any] | None, name: str | None) -> Mapping[str, Any] | None:
    """The spec of one tool from a single spec or a mapping of names to specs."""
    if not tool_spec:
        return None
    if "function" in tool_spec or "parameters" in tool_spec or "name" in tool_spec:
        function = tool_spec.get("function", tool_spec)
        return tool_spec if function.get("name") in (None, name) else None
    return tool_spec.get(name) if name else None


def _score_one(
    call_or_none: Mapping[str, Any] | None,
    expect: Mapping[str, Any],
    tool_spec: Mapping[str, Any] | None,
) -> tuple[bool, bool]:
    wanted_tool = expect.get("tool")
    if wanted_tool is None:
        right = call_or_none is None
        return right, right
    if call_or_none is None:
        return False, False
    name = call_or_none.get("tool", call_or_none.get("name"))
    if name != wanted_tool:
        return False, False
    arguments = call_arguments(call_or_none)
    if arguments is None:
        return True, False
    schema = _parameters(tool_spec)
    return True, _fields_match(arguments, expect.get("arguments") or {}, schema)


def call_arguments(call: Mapping[str, Any]) -> dict[str, Any] | None:
    """The call's arguments as a dict, or None when they are not an object."""
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return None
    if arguments is None:
        return {}
    return dict(arguments) if isinstance(arguments, Mapping) else None


def _parameters(tool_spec: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not tool_spec:
        return {}
    function = tool_spec.get("function", tool_spec)
    return function.get("parameters") or {}


def _fields_match(got: Mapping[str, Any], listing: Mapping[str, Any], schema: Any) -> bool:
    """Rules 1-4 for one object: the call's fields against an expectation's listing."""
    properties = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    given: dict[str, Any] = {}
    for key, value in got.items():
        if value is None:
            continue
        prop = properties.get(key, {})
        if (
            isinstance(prop, Mapping)
            and "default" in prop
            and _strict_equal(value, prop["default"])
        ):
            given[key] = ("default", value)
        else:
            given[key] = ("value", value)
    for key, (kind, _) in given.items():
        if key not in listing and kind == "value":
            return False
    for key, spec in listing.items():
        prop = properties.get(key, {})
        prop = prop if isinstance(prop, Mapping) else {}
        kind, value = given.get(key, (None, _MISSING))
        if not _listing_met(value, kind, spec, prop):
            return False
    return True


def _listing_met(value: Any, kind: str | None, spec: Any, prop: Mapping[str, Any]) -> bool:
    has_default = "default" in prop
    if isinstance(spec, Mapping):  # a bare matcher: the argument must be given
        return value is not _MISSING and _value_match(value, spec, prop)
    if not isinstance(spec, list):
        raise ValueError(f"an expected argument is a list or a matcher object, not {spec!r}")
    may_be_absent = None in spec
    accepts_default = has_default and any(
        option is not None and _value_match(prop["default"], option, prop) for option in spec
    )
    if value is _MISSING:
        return may_be_absent or accepts_default
    if kind == "default" and (may_be_absent or accepts_default):
        return True
    return any(option is not None and _value_match(value, option, prop) for option in spec)


def _norm_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_match(got: Any, want: Any, schema: Any = None) -> bool:
    """Rule 5: one value against one acceptable value (or matcher)."""
    schema = schema if isinstance(schema, Mapping) else {}
    if isinstance(want, Mapping) and set(want) == {"$contains"}:
        if not isinstance(got, str):
            return False
        words = want["$contains"]
        words = [words] if isinstance(words, str) else words
        text = _norm_text(got)
        return all(_norm_text(word) in text for word in words)
    if isinstance(want, Mapping) and set(want) == {"$fields"}:
        return isinstance(got, Mapping) and _fields_match(got, want["$fields"], schema)
    if isinstance(want, str):
        return isinstance(got, str) and _norm_text(got) == _norm_text(want)
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(want, bool) and isinstance(got, bool) and want == got
    if _is_number(want):
        return _is_number(got) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, Sequence):
        if not isinstance(got, Sequence) or isinstance(got, str) or len(got) != len(want):
            return False
        return _assign(list(got), list(want), schema.get("items", {}))
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            return False
        got_keys = {k for k, v in got.items() if v is not None}
        want_keys = {k for k, v in want.items() if v is not None}
        if got_keys != want_keys:
            return False
        properties = schema.get("properties", {})
        return all(_value_match(got[k], want[k], properties.get(k, {})) for k in want_keys)
    return bool(got == want)


def _assign(got: list[Any], want: list[Any], item_schema: Any) -> bool:
    """Whether every element of got meets a different element of want (same lengths)."""
    if not got:
        return True
    first, rest = got[0], got[1:]
    for index, option in enumerate(want):
        if _value_match(first, option, item_schema) and _assign(
            rest, want[:index] + want[index + 1 :], item_schema
        ):
            return True
    return False


def _strict_equal(a: Any, b: Any) -> bool:
    """Plain-value equality under rule 5, used for schema defaults."""
    if isinstance(b, (Mapping, list)) or isinstance(a, (Mapping, list)):
        return a == b
    return _value_match(a, b)


if __name__ == "__main__":
    import doctest
    import sys

    failed, tried = doctest.testmod()
    print(f"{tried - failed}/{tried} examples pass")
    sys.exit(1 if failed else 0)
