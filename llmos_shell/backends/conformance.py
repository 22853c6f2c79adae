"""Whether a JSON value conforms to a JSON Schema: the check on every reply a server sends.

A server may ignore or only half-honour `response_format`; a reply that does not conform is
never taken as a tool call. This covers the keywords the action schemas use.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def check_reply(pieces: Sequence[str], schema: Any, *, cut: bool) -> str | None:
    """Why a constrained reply cannot be accepted, or None when it can.

    A reply `cut` short (on purpose, or by the token limit) can only be judged by its start.
    """
    text = "".join(pieces).strip()
    if cut:
        if not text or text[0] in "{[":
            return None
        return f"text that is not JSON ({text[:60]!r})"
    try:
        value = json.loads(text)
    except ValueError:
        return f"text that is not JSON ({text[:60]!r})"
    if not conforms(value, schema):
        return f"JSON that does not fit the schema ({text[:60]!r})"
    return None


def conforms(value: Any, schema: Any, root: Mapping[str, Any] | None = None) -> bool:
    """Whether a JSON value fits a JSON Schema (the keywords tool schemas use)."""
    if root is None:
        root = schema if isinstance(schema, Mapping) else {}
    if schema is True or schema is None:
        return True
    if schema is False:
        return False
    if not isinstance(schema, Mapping):
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _pointer(root, ref)
        if target is not None and not conforms(value, target, root):
            return False
    kinds = schema.get("type")
    if kinds is not None:
        options = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is_type(value, str(kind)) for kind in options):
            return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if "enum" in schema and not any(_same(value, item) for item in schema["enum"]):
        return False
    # oneOf is read as anyOf, as the grammar engines that enforce schemas do.
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and not any(conforms(value, b, root) for b in branches):
            return False
    branches = schema.get("allOf")
    if isinstance(branches, list) and not all(conforms(value, b, root) for b in branches):
        return False
    if isinstance(value, dict):
        return _object_conforms(value, schema, root)
    if isinstance(value, list):
        return _array_conforms(value, schema, root)
    if isinstance(value, str):
        return _string_conforms(value, schema)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_conforms(value, schema)
    return True


def _object_conforms(value: dict[str, Any], schema: Mapping[str, Any], root: Any) -> bool:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    if isinstance(required, list) and any(name not in value for name in required):
        return False
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            if not conforms(item, properties[name], root):
                return False
        elif extra is False:
            return False
        elif isinstance(extra, Mapping) and not conforms(item, extra, root):
            return False
    return True


def _array_conforms(value: list[Any], schema: Mapping[str, Any], root: Any) -> bool:
    items = schema.get("items")
    if isinstance(items, Mapping) and not all(conforms(item, items, root) for item in value):
        return False
    low, high = schema.get("minItems"), schema.get("maxItems")
    return not (
        (isinstance(low, int) and len(value) < low) or (isinstance(high, int) and len(value) > high)
    )


def _string_conforms(value: str, schema: Mapping[str, Any]) -> bool:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if (isinstance(low, int) and len(value) < low) or (isinstance(high, int) and len(value) > high):
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        with contextlib.suppress(re.error):
            return re.search(pattern, value) is not None
    return True


def _number_conforms(value: float, schema: Mapping[str, Any]) -> bool:
    bounds: list[tuple[str, Callable[[float, float], bool]]] = [
        ("minimum", lambda v, b: v >= b),
        ("maximum", lambda v, b: v <= b),
        ("exclusiveMinimum", lambda v, b: v > b),
        ("exclusiveMaximum", lambda v, b: v < b),
    ]
    for key, ok in bounds:
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(value, bound):
            return False
    return True


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float))
    return True  # an unknown type name constrains nothing


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    """The schema a local `$ref` ("#/$defs/Name") points at, or None."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
