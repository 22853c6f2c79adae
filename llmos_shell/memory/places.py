"""Places in what the person says: paths, folder words, and the names their notes give.

"remember that my projects are in ~/code" makes "my projects" a place, as "downloads" is
one; a request that names it is read with the path spelt out, so the planner's argument
grounding fills it in as it would a path typed outright. An example from an episode or a
correction about one folder is carried over to the folder the new request names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from llmos_shell.vocabulary.places import place_phrases

_PATH = r"(?:~|\.{1,2})?/[^\s'\"`,;()]*|~"
# "my projects are in ~/code", "I keep my photos in /data/photos", "notes live at ~/notes"
_PLACE_FACT = re.compile(
    rf"^(?:i\s+(?:keep|store|put|have)\s+)?(?P<what>(?:my|our|the)\s+[\w .-]+?)\s+"
    rf"(?:(?:are|is|live|lives|sit|sits|go|goes)\s+)?(?:kept\s+|stored\s+)?(?:in|at|under)\s+"
    rf"(?P<path>{_PATH})\s*[.!]?$",
    re.IGNORECASE,
)
_PATH_TOKEN = re.compile(rf"(?<![\w/])(?:{_PATH})")
_STOP = {"my", "our", "the", "all", "folder", "folders", "dir", "directory", "files"}


def place_from_fact(text: str) -> tuple[str, str] | None:
    """(the words for the place, its path) when a fact says where something lives."""
    match = _PLACE_FACT.match(" ".join(text.split()).removeprefix("that ").strip())
    if not match or match.group("path") in ("~", "/"):
        return None
    return match.group("what").strip().lower(), match.group("path").rstrip("/.")


def _key_words(phrase: str) -> list[str]:
    return [w for w in re.findall(r"[\w-]+", phrase.lower()) if w not in _STOP]


def _names(word: str) -> set[str]:
    base = word[:-1] if word.endswith("s") and len(word) > 3 else word
    return {base, base + "s"}


def spell_out(request: str, places: Iterable[tuple[str, str]]) -> str:
    """The request with the path of each place it names added ("(in ~/code)"), or as it is."""
    words = set(re.findall(r"[\w-]+", request.lower()))
    found = []
    for phrase, path in places:
        key = _key_words(phrase)
        if key and all(words & _names(w) for w in key) and path not in request:
            found.append(path)
    if not found:
        return request
    return f"{request} (in {', '.join(dict.fromkeys(found))})"


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
