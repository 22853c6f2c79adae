"""JSON Schema to a llama.cpp grammar (GBNF) that always ends: every string and array bounded.

llama.cpp segfaults when handed a grammar its parser rejects, and the converter shipped with
llama-cpp-python mis-escapes quotes and backslashes in enum values and property names. This
one escapes every literal, refuses what it cannot express with one sentence, and bounds every
string and array, so that a call written under it finishes within `max_chars` characters:
with at least one character per token, that many tokens always suffice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmos_shell.errors import GrammarError

# Bounds for what a schema leaves open; a schema's own maxLength/maxItems win when smaller.
MAX_STRING_CHARS = 2000
MAX_ARRAY_ITEMS = 64
MAX_KEY_CHARS = 64
MAX_INTEGER_DIGITS = 15
MAX_FRACTION_DIGITS = 8
MAX_ANY_DEPTH = 3  # nesting of values whose schema says nothing (`{}`)

# Inside a bounded string: plain characters and the two-character escapes. `\uXXXX` is left
# out so that a character costs at most two, which keeps the length bound honest.
_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt]'
_SPACE = '" "?'


@dataclass(frozen=True)
class Grammar:
    """A GBNF grammar and the most characters any text it accepts can have."""

    text: str
    max_chars: int


def gbnf_literal(text: str) -> str:
    """`text` as a GBNF string literal, every character that needs it escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise GrammarError(
                "a value in the tool schema holds a lone surrogate character, which no model "
                "can write; fix that value in the schema"
            )
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def json_literal(value: Any) -> tuple[str, int]:
    """A JSON value as a GBNF literal of its JSON text, and that text's length."""
    text = json.dumps(value, ensure_ascii=False)
    return gbnf_literal(text), len(text)


class _Builder:
    def __init__(self) -> None:
        self.rules: dict[str, str] = {}
        self.bodies: dict[str, str] = {}  # body -> name, so equal rules are written once

    def rule(self, hint: str, body: str) -> str:
        if body in self.bodies:
            return self.bodies[body]
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-").lower() or "r"
        name, n = base, 1
        while name in self.rules:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        self.bodies[body] = name
        return name

    # -- one schema node -> (rule name, max characters) -------------------------------------

    def visit(self, schema: Any, hint: str, depth: int = 0) -> tuple[str, int]:
        if schema is True or schema == {} or schema is None:
            return self.any_value(hint, depth)
        if not isinstance(schema, dict):
            raise GrammarError(f"the tool schema has {schema!r} where a schema object belongs")
        if "const" in schema:
            literal, size = json_literal(schema["const"])
            return self.rule(hint, f"{literal} {_SPACE}"), size + 1
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list) or not values:
                raise GrammarError(f"{hint}: an enum needs at least one value")
            texts = list(dict.fromkeys(json.dumps(v, ensure_ascii=False) for v in values))
            body = (
                self.trie(texts, hint) if len(texts) > 8 else " | ".join(map(gbnf_literal, texts))
            )
            return self.rule(hint, f"({body}) {_SPACE}"), max(map(len, texts)) + 1
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                if not isinstance(options, list) or not options:
                    raise GrammarError(f"{hint}: {key} needs at least one option")
                rest = {k: v for k, v in schema.items() if k != key}
                parts = [
                    self.visit({**rest, **o} if isinstance(o, dict) else o, f"{hint}-{i}", depth)
                    for i, o in enumerate(options)
                ]
                body = " | ".join(name for name, _ in parts)
                return self.rule(hint, body), max(n for _, n in parts)
        if "allOf" in schema and isinstance(schema["allOf"], list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged = {**merged, **part}
            return self.visit(merged, hint, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            if not kind:
                raise GrammarError(f"{hint}: type needs at least one type")
            parts = [self.visit({**schema, "type": k}, f"{hint}-{k}", depth) for k in kind]
            return self.rule(hint, " | ".join(n for n, _ in parts)), max(n for _, n in parts)
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema:
                kind = "array"
            else:
                return self.any_value(hint, depth)
        handler = {
            "string": self.string,
            "integer": self.integer,
            "number": self.number,
            "boolean": self.boolean,
            "null": self.null,
            "array": self.array,
            "object": self.obj,
        }.get(kind)
        if handler is None:
            raise GrammarError(f"{hint}: unknown type {kind!r}")
        return handler(schema, hint, depth)

    def trie(self, texts: list[str], hint: str) -> str:
        """Alternatives that share prefixes written once, so a long enum (every span of a
        request) stays small and cheap to sample: at each point only a few branches live."""
        tree: dict[str, Any] = {}
        for text in texts:
            node = tree
            for char in text:
                node = node.setdefault(char, {})
            node[""] = {}  # the end of one alternative

        def emit(node: dict[str, Any]) -> str:
            branches = []
            for char, child in sorted(node.items()):
                if char == "":
                    continue
                run = char
                while len(child) == 1 and "" not in child:  # a chain: one literal
                    ((next_char, child),) = child.items()
                    run += next_char
                rest = emit(child) if any(k for k in child) else ""
                ends_here = "" in child
                if rest and ends_here:
                    branches.append(f"{gbnf_literal(run)} ({rest})?")
                elif rest:
                    branches.append(f"{gbnf_literal(run)} {rest}")
                else:
                    branches.append(gbnf_literal(run))
            if len(branches) == 1:
                return branches[0]
            return self.rule(f"{hint}-t", " | ".join(branches))

        return emit(tree)

    def string(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        most = _bounded(schema.get("maxLength"), MAX_STRING_CHARS)
        least = min(_bounded(schema.get("minLength"), 0), most)
        char = self.rule("char", _CHAR)
        return self.rule(hint, f'"\\"" {char}{{{least},{most}}} "\\"" {_SPACE}'), 2 * most + 3

    def integer(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        digits, negative = _digits(schema)
        sign = '"-"? ' if negative else ""
        body = f'{sign}("0" | [1-9] [0-9]{{0,{digits - 1}}}) {_SPACE}'
        return self.rule(hint, body), digits + 2

    def number(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        digits, negative = _digits(schema)
        sign = '"-"? ' if negative else ""
        body = (
            f'{sign}("0" | [1-9] [0-9]{{0,{digits - 1}}}) '
            f'("." [0-9]{{1,{MAX_FRACTION_DIGITS}}})? {_SPACE}'
        )
        return self.rule(hint, body), digits + MAX_FRACTION_DIGITS + 3

    def boolean(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        return self.rule("boolean", f'("true" | "false") {_SPACE}'), 6

    def null(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        return self.rule("null", f'"null" {_SPACE}'), 5

    def array(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        items = schema.get("items", {})
        item, item_chars = self.visit(items, f"{hint}-item", depth + 1)
        most = _bounded(schema.get("maxItems"), MAX_ARRAY_ITEMS)
        least = min(_bounded(schema.get("minItems"), 0), most)
        if most == 0:
            return self.rule(hint, f'"[" {_SPACE} "]" {_SPACE}'), 4
        more = f'("," {_SPACE} {item}){{{max(least - 1, 0)},{most - 1}}}'
        inner = f"{item} {more}"
        if least == 0:
            inner = f"({inner})?"
        body = f'"[" {_SPACE} {inner} "]" {_SPACE}'
        return self.rule(hint, body), 4 + most * (item_chars + 2)

    def obj(self, schema: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            extra = schema.get("additionalProperties", True)
            if extra is False:
                return self.rule(hint, f'"{{" {_SPACE} "}}" {_SPACE}'), 4
            return self.free_map(extra if isinstance(extra, dict) else {}, hint, depth)
        required = set(schema.get("required") or [])
        pairs: list[tuple[str, str, int, bool]] = []
        for name, sub in properties.items():
            key, key_chars = json_literal(str(name))
            value, value_chars = self.visit(sub, f"{hint}-{name}", depth + 1)
            pair = self.rule(f"{hint}-{name}-kv", f'{key} {_SPACE} ":" {_SPACE} {value}')
            pairs.append((str(name), pair, key_chars + value_chars + 4, str(name) in required))
        must = [p for p in pairs if p[3]]
        may = [p for p in pairs if not p[3]]
        chars = 4 + sum(p[2] for p in pairs)
        comma = f'"," {_SPACE}'
        if must:
            body = f" {comma} ".join(p[1] for p in must)
            body += "".join(f" ({comma} {p[1]})?" for p in may)
        else:
            # No property is required: any in-order subset, commas only between them.
            tail = ""
            for index in range(len(may) - 1, -1, -1):
                rest = "".join(f" ({comma} {p[1]})?" for p in may[index + 1 :])
                tail = f"{may[index][1]}{rest}" + (f" | {tail}" if tail else "")
            body = f"({tail})?"
        return self.rule(hint, f'"{{" {_SPACE} {body} "}}" {_SPACE}'), chars

    def free_map(self, values: dict[str, Any], hint: str, depth: int) -> tuple[str, int]:
        key, key_chars = self.string({"maxLength": MAX_KEY_CHARS}, "key", depth)
        value, value_chars = self.visit(values, f"{hint}-value", depth + 1)
        pair = self.rule(f"{hint}-kv", f'{key} ":" {_SPACE} {value}')
        most = MAX_ARRAY_ITEMS
        body = f'"{{" {_SPACE} ({pair} ("," {_SPACE} {pair}){{0,{most - 1}}})? "}}" {_SPACE}'
        return self.rule(hint, body), 4 + most * (key_chars + value_chars + 4)

    def any_value(self, hint: str, depth: int) -> tuple[str, int]:
        scalars = [
            self.string({}, "any-string", depth),
            self.number({}, "any-number", depth),
            self.boolean({}, "boolean", depth),
            self.null({}, "null", depth),
        ]
        if depth < MAX_ANY_DEPTH:
            scalars.append(self.array({"items": {}}, f"any-array-{depth}", depth + 1))
            scalars.append(self.free_map({}, f"any-object-{depth}", depth + 1))
        body = " | ".join(name for name, _ in scalars)
        return self.rule(f"any-{depth}", body), max(n for _, n in scalars)


def _bounded(value: Any, default: int) -> int:
    """A schema's length bound, or the default; never above the default's cap."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return min(value, default) if default else value


def _digits(schema: dict[str, Any]) -> tuple[int, bool]:
    """How many integer digits a number may have, and whether it may be negative."""
    bounds = [schema.get(k) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
    numbers = [
        abs(int(b)) for b in bounds if isinstance(b, (int, float)) and not isinstance(b, bool)
    ]
    lowest = schema.get("minimum", schema.get("exclusiveMinimum"))
    negative = not (isinstance(lowest, (int, float)) and lowest >= 0)
    if "minimum" in schema and "maximum" in schema and numbers:
        return max(1, min(len(str(max(numbers))), MAX_INTEGER_DIGITS)), negative
    return MAX_INTEGER_DIGITS, negative


def schema_to_gbnf(schema: dict[str, Any]) -> Grammar:
    """The grammar of JSON texts that conform to `schema` (with bounds), and its longest text.

    Raises GrammarError with one sentence for a schema it cannot express.
    """
    builder = _Builder()
    try:
        root, chars = builder.visit(schema, "root")
    except RecursionError:
        raise GrammarError("the tool schema is nested too deeply to turn into a grammar") from None
    rules = dict(builder.rules)
    if root != "root":
        rules["root"] = root
    text = "\n".join(f"{name} ::= {body}" for name, body in rules.items())
    return Grammar(text=text, max_chars=chars)
