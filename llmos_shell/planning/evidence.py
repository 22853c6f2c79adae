"""What a call's values may come from: the spans of the request, and what earlier steps found.

A value the person stated is copied, not rewritten: the planner offers the model the spans of
the request (runs of up to `MAX_SPAN_WORDS` words, punctuation at their ends trimmed), the
numbers it states, and the values that earlier results hold (a pid found by a listing, the
paths a search returned), and the grammar allows only those for the arguments that name
something.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from llmos_shell.vocabulary.units import NUMBER_WORDS

MAX_SPAN_WORDS = 8
MAX_SPANS = 400
MAX_RESULT_VALUES = 200
MAX_VALUE_CHARS = 300

_TRIM = "\"'`()[]{},.;:!?"
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_PATHS_IN_TEXT = re.compile(r"(?:~|\.{1,2})?/[\w.@+~/-]+|[\w@+-]+\.[A-Za-z0-9]{1,8}\b")
_QUOTED = re.compile(r""""([^"]{1,300})"|'([^']{1,300})'|`([^`]{1,300})`""")


@dataclass(frozen=True)
class Evidence:
    """The texts a call's values may be copied from."""

    request: str
    results: tuple[Any, ...] = ()  # data of earlier steps and turns that the request builds on
    extra: tuple[str, ...] = ()  # other texts the request refers to (an earlier request)
    carried: tuple[Any, ...] = ()  # argument values of the turn it builds on ("the same...")

    def carried_strings(self) -> list[str]:
        """The string values of the earlier turn's call, which a follow-up may keep."""
        return [v for v in _leaves(list(self.carried)) if isinstance(v, str) and v]

    def spans(self) -> list[str]:
        """Every span of the request (and of the texts it refers to), longest first."""
        found: dict[str, None] = {}
        for text in (self.request, *self.extra):
            for quoted in _QUOTED.finditer(text):
                found.setdefault(next(g for g in quoted.groups() if g), None)
            for span in _word_spans(text):
                found.setdefault(span, None)
        spans = sorted(found, key=lambda s: (-len(s), s))
        return spans[:MAX_SPANS]

    def result_strings(self) -> list[str]:
        """The short string values that earlier results hold."""
        values: dict[str, None] = {}
        for data in self.results:
            for value in _leaves(data):
                if isinstance(value, str) and 0 < len(value) <= MAX_VALUE_CHARS:
                    values.setdefault(value, None)
                    # A result that is text ("2 files: ~/a.log, ~/b.log") names its values.
                    for token in _PATHS_IN_TEXT.findall(value) if " " in value else ():
                        values.setdefault(token.rstrip(".,;:"), None)
                if len(values) >= MAX_RESULT_VALUES:
                    return list(values)
        return list(values)

    def numbers(self) -> list[int | float]:
        """The numbers the request states (digits or words) and earlier results hold."""
        found: dict[int | float, None] = {}
        for text in (self.request, *self.extra):
            for match in _NUMBER.finditer(text):
                found.setdefault(_number(match.group(0)), None)
            lowered = text.lower()
            for word, value in NUMBER_WORDS.items():
                if len(word) > 2 and re.search(rf"\b{re.escape(word)}\b", lowered):
                    found.setdefault(value, None)
        for data in (*self.results, list(self.carried)):
            for value in _leaves(data):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    found.setdefault(value, None)
                elif isinstance(value, str) and " " in value:  # numbers a text result names
                    for match in _NUMBER.finditer(value):
                        found.setdefault(_number(match.group(0)), None)
                if len(found) >= MAX_RESULT_VALUES:
                    break
        return list(found)

    def text(self) -> str:
        """Everything as one lower-case text, to check that a value was mentioned."""
        parts = [self.request, *self.extra]
        parts += [json.dumps(d, ensure_ascii=False, default=str) for d in self.results]
        return " ".join(parts).lower()


@dataclass
class _Token:
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    """The words of a text with their trimmed bounds (`"Paris,"` is Paris)."""
    out = []
    for match in re.finditer(r"\S+", text):
        start, end = match.start(), match.end()
        while start < end and text[start] in _TRIM:
            start += 1
        while end > start and text[end - 1] in _TRIM:
            end -= 1
        if start < end:
            out.append(_Token(start, end))
    return out


def _word_spans(text: str) -> Iterator[str]:
    tokens = _tokens(text)
    for i, first in enumerate(tokens):
        for last in tokens[i : i + MAX_SPAN_WORDS]:
            span = text[first.start : last.end]
            if "\n" not in span:
                yield span


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _leaves(data: Any, depth: int = 0) -> Iterable[Any]:
    if depth > 6:
        return
    if isinstance(data, dict):
        for value in data.values():
            yield from _leaves(value, depth + 1)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from _leaves(value, depth + 1)
    else:
        yield data
