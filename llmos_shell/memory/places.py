"""Places in what the person says: paths and folder words.

An example from an episode or a correction about one folder is carried over to the folder
the new request names. (The names the person's own notes give places are `aliases.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from llmos_shell.vocabulary.places import WRITTEN_PATH, place_phrases

_PATH_TOKEN = re.compile(rf"(?<![\w/])(?:{WRITTEN_PATH}|~)")


def places_in(text: str, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(the words as written, the path they mean) for each place named in `text`."""
    out: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []
    for match in _PATH_TOKEN.finditer(text):
        token = match.group().rstrip(".?!")
        if token in ("~", "/") or len(token) < 2:
            continue
        out.append((token, token.rstrip("/")))
        spans.append(match.span())
    lower = text.lower()
    phrases = {**{p: v for p, v in extra}, **place_phrases()}
    for phrase in sorted(phrases, key=len, reverse=True):
        for match in re.finditer(rf"\b{re.escape(phrase)}\b", lower):
            if any(a <= match.start() < b for a, b in spans):
                continue
            out.append((text[match.start() : match.end()], phrases[phrase]))
            spans.append(match.span())
    return [(surface, path) for surface, path in out if path != "~"] or [
        (surface, path) for surface, path in out
    ]


def carry_over(
    example_request: str, arguments: dict[str, Any], request: str
) -> tuple[str, dict[str, Any]] | None:
    """The example moved to the one place the new request names, or None when it does not
    fit: each side must name exactly one place, and the example's call must use it."""
    before = {path for _, path in places_in(example_request)}
    after = {path for _, path in places_in(request)}
    if len(before) != 1 or len(after) != 1 or before == after:
        return None
    old, new = next(iter(before)), next(iter(after))
    variants = [old]
    if old.startswith("~/"):
        variants.append(old[2:])  # "du -sh Documents" run from home
    changed = False

    def swap(value: Any) -> Any:
        nonlocal changed
        if isinstance(value, str):
            for variant in variants:
                pattern = rf"(?<![\w/]){re.escape(variant)}(?![\w])"
                if re.search(pattern, value):
                    changed = True
                    return re.sub(pattern, new, value)
            return value
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    moved = {key: swap(value) for key, value in arguments.items()}
    if not changed:
        return None
    surface = next(s for s, p in places_in(example_request) if p == old)
    return example_request.replace(surface, new, 1), moved
