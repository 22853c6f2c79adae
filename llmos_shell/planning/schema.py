"""The JSON Schema of one planning step: a call of an offered tool, or a plain answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from llmos_shell.planning.evidence import Evidence
from llmos_shell.planning.slots import LAST_WORDS, Slots, extract
from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind
from llmos_shell.vocabulary.shapes import is_number, is_when, mentions_when


def action_schema(
    tools: Iterable[Tool],
    *,
    allow_answer: bool = True,
    parameters: Callable[[Tool], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """JSON Schema of one action: a call of one of `tools`, or (if allowed) an answer.

    `parameters` gives each tool's arguments schema (by default its own, unconstrained).
    """
    arguments = parameters or (lambda item: item.parameters_schema())
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": item.name},
                "arguments": arguments(item),
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for item in tools
    ]
    if allow_answer:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    if not options:
        raise ValueError("an action schema needs at least one tool or the answer")
    return options[0] if len(options) == 1 else {"oneOf": options}


def call_chars(schema: dict[str, Any]) -> int:
    """The most characters a call under `schema` can take (answers not counted).

    At least one character goes into each token, so that many tokens always let a call end.
    """
    from llmos_shell.backends.gbnf import schema_to_gbnf

    options = schema.get("oneOf", [schema])
    calls = [o for o in options if "tool" in o.get("properties", {})]
    return max((schema_to_gbnf(o).max_chars for o in calls), default=0)


# Bounds on written values: a call always ends, and the token limit follows from them.
TEXT_CHARS = 2000  # file contents, a message
COMMAND_CHARS = 500  # a shell command line
SHORT_CHARS = 64  # a date, a size or a name the request did not state
MAX_ITEMS = 16  # array items when the schema gives no bound
PATH_SPAN_WORDS = 2  # the longest span of the request offered as a path ("tmp", "old logs")


def grounded_parameters(tool: Tool, evidence: Evidence) -> dict[str, Any]:
    """The tool's parameters schema held to what the evidence states.

    Arguments that name something (paths, names, queries, process names...) may only be
    spans of the request or values earlier results hold; numbers only numbers stated;
    sizes and ages only those stated. Written values (contents, commands, dates) stay free
    but bounded. An optional argument the evidence gives no value for is left out, so the
    tool's default applies; a required one stays free, bounded.
    """
    schema = tool.parameters_schema()
    stated = extract(evidence.request)
    required = set(schema.get("required") or [])
    bounds = _stated_bounds(tool, stated)
    # A number a size or age argument takes ("10 megs") is no count as well.
    kinds = set(tool.kinds.values())
    taken = (stated.size_numbers if Kind.SIZE in kinds else set()) | (
        stated.age_numbers if Kind.AGE in kinds else set()
    )
    properties: dict[str, Any] = {}
    for name, spec in (schema.get("properties") or {}).items():
        kind = tool.kinds.get(name, Kind.NAME)
        if name in bounds:
            grounded = _enum_of(spec if isinstance(spec, dict) else {}, bounds[name])
        else:
            grounded = _ground(
                spec if isinstance(spec, dict) else {}, kind, evidence, stated, taken
            )
        if grounded is None:
            if name not in required:
                continue
            grounded = _bounded(spec if isinstance(spec, dict) else {}, kind)
        properties[name] = grounded
    out = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    out["properties"] = properties
    kept = [name for name in schema.get("required") or [] if name in properties]
    if kept:
        out["required"] = kept
    return out


def _stated_bounds(tool: Tool, stated: Slots) -> dict[str, list[str]]:
    """Sizes and ages stated, by argument: of two arguments of a kind, the first takes the
    lower bound and the second the upper (`min_size`, `max_size`), as `fill_arguments` does."""
    out: dict[str, list[str]] = {}
    for kind, low, high in (
        (Kind.SIZE, stated.min_size, stated.max_size),
        (Kind.AGE, stated.modified_within, stated.modified_before),
    ):
        names = [name for name, k in tool.kinds.items() if k is kind]
        if len(names) >= 2:
            out[names[0]] = [low] if low else []
            out[names[1]] = [high] if high else []
        elif names:
            out[names[0]] = [v for v in (low, high) if v]
    return out


def _enum_of(spec: dict[str, Any], values: list[str]) -> dict[str, Any] | None:
    if not values:
        return None
    spec = _without_null(spec)
    kept = {k: v for k, v in spec.items() if k not in ("maxLength", "minLength", "pattern")}
    return kept | {"type": "string", "enum": values}


def _without_null(spec: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as plain X: leaving an optional argument out already means None."""
    for key in ("anyOf", "oneOf"):
        options = spec.get(key)
        if isinstance(options, list):
            kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(kept) == 1 and isinstance(kept[0], dict):
                rest = {k: v for k, v in spec.items() if k != key}
                return {**rest, **kept[0]}
    return spec


def _types(spec: dict[str, Any]) -> set[str]:
    kind = spec.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()


def _ground(
    spec: dict[str, Any],
    kind: Kind,
    evidence: Evidence,
    stated: Slots,
    taken: frozenset[float] | set[float] = frozenset(),
) -> dict[str, Any] | None:
    spec = _without_null(spec)
    if "enum" in spec or "const" in spec or kind in (Kind.CHOICE, Kind.FLAG):
        return spec
    if any(spec.get(key) == [] for key in ("anyOf", "oneOf")):
        return spec  # no value can satisfy it; the grammar says so in one sentence
    types = _types(spec)
    if types & {"integer", "number"} and "string" not in types:
        qualifier = stated.count_kind or ""
        if (kind is Kind.COUNT_LAST and qualifier not in LAST_WORDS) or (
            kind is Kind.COUNT_FIRST and qualifier in LAST_WORDS
        ):
            return None  # the request counts from the other end
        if kind.is_count and stated.count is not None:
            return _ground_number(spec, types, (stated.count,), positive=True)
        numbers = [n for n in evidence.numbers() if n not in taken]
        return _ground_number(spec, types, numbers, positive=kind in _POSITIVE)
    if "array" in types:
        items = _ground(spec.get("items") or {}, kind, evidence, stated, taken)
        if items is None:
            return None
        given = spec.get("maxItems")
        most = given if isinstance(given, int) and given >= 0 else MAX_ITEMS
        return {**spec, "items": items, "maxItems": min(most, MAX_ITEMS * 4)}
    if "object" in types or "properties" in spec:
        return _bounded(spec, kind)
    if types and "string" not in types:
        return spec
    if kind is Kind.DATETIME and not mentions_when(evidence.request):
        return None  # no day or time said: nothing to write, the tool's default applies
    values = _string_candidates(kind, evidence, stated)
    if values is None:  # written, not copied
        return _bounded(spec, kind)
    if not values:
        return None
    return {k: v for k, v in spec.items() if k not in ("maxLength", "minLength", "pattern")} | {
        "type": "string",
        "enum": values,
    }


_POSITIVE = frozenset({Kind.PID, Kind.COUNT, Kind.COUNT_FIRST, Kind.COUNT_LAST})


def _ground_number(
    spec: dict[str, Any], types: set[str], stated: Sequence[int | float], *, positive: bool
) -> dict[str, Any] | None:
    low, high = spec.get("minimum"), spec.get("maximum")
    numbers = [
        n
        for n in stated
        if ("number" in types or isinstance(n, int))
        and not (positive and n <= 0)
        and not (isinstance(low, (int, float)) and n < low)
        and not (isinstance(high, (int, float)) and n > high)
    ]
    if not numbers:
        return None
    return {k: v for k, v in spec.items() if k not in ("minimum", "maximum")} | {"enum": numbers}


def _string_candidates(kind: Kind, evidence: Evidence, stated: Slots) -> list[str] | None:
    """The values a string argument of this kind may take; None: it is written freely."""
    if kind.free_text:
        return None
    found = [*evidence.result_strings(), *evidence.carried_strings()]
    if kind is Kind.PATH:
        # Paths come from the request's own path words ("downloads", "here", "notes.txt"),
        # short names in it ("the tmp folder"), earlier results and the turn before; with
        # none of those, the tool's default place is the answer.
        places = [path for path, _ in stated.places]
        if not places and not found and not evidence.carried:
            return []
        short = [s for s in evidence.spans() if len(s.split()) <= PATH_SPAN_WORDS]
        return list(dict.fromkeys([*places, *evidence.carried_strings(), *found, *short]))
    if kind is Kind.GLOB and stated.glob:
        return [stated.glob]  # "pdfs" means *.pdf
    # A date, a time or a bare number belongs in arguments of those kinds, not in a name.
    spans = [s for s in evidence.spans() if not is_when(s) and not is_number(s)]
    if kind is Kind.PROCESS and stated.process:
        spans = [stated.process, *spans]
    return list(dict.fromkeys([*spans, *found]))


def _bounded(spec: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """The argument free but bounded, so the call ends."""
    spec = _without_null(spec)
    types = _types(spec)
    if "string" in types or not types:
        cap = {Kind.TEXT: TEXT_CHARS, Kind.COMMAND: COMMAND_CHARS}.get(kind, SHORT_CHARS)
        most = spec.get("maxLength")
        bounded = min(most, cap) if isinstance(most, int) and most >= 0 else cap
        return {**spec, "maxLength": bounded}
    return spec
