"""Answers that state only what the results show, and honest limits where no tool fits.

A small model's answer under a table often contradicts it, invents names and paths, or
suggests commands nobody checked. So an answer is read for its claims (numbers, paths and
file names, quoted text, names) and shown only when every claim occurs in what the tools
returned (or in the request); a sentence that suggests a command is dropped. When nothing
checkable is left, a one-line summary built from the result's own structure stands in
("12 entries; the first: notes.txt, 2.1 KB"). Where no tool was used, a short reply without
claims (a greeting) is kept; anything else becomes one sentence of what the tools can do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CLAIM_FREE_WORDS = 20  # a reply with no checkable claim is kept only when this short

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])|\n+")
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w.]*[a-zA-Z]{3})")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.@+~/-]+|\b[\w@+-]+\.[A-Za-z0-9]{1,8}\b")
_QUOTED = re.compile(r"""["'`]([^"'`\n]{2,80})["'`]""")
_NAME = re.compile(r"(?<![\w.])([A-Z][a-z]+[A-Z][\w]*|[A-Za-z]+\d[\w-]*|[A-Z]{2,}[a-z]*\w*)")
_CAPITALISED = re.compile(r"(?<=[a-z,;:] )([A-Z][a-z]{2,})\b")
_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?([KMGTP]i?B|bytes?|B)\b", re.IGNORECASE)
_BACKTICKS = re.compile(r"`[^`]+`")
_EMPTY = re.compile(
    r"\b(?:empty|no (?:files|entries|results|matches|items|processes)|none|nothing)\b", re.I
)
# Programs whose mention with an option or a path reads as advice to run them.
_COMMAND_WORDS = (
    "sudo rm rmdir chmod chown dd mkfs kill pkill killall apt apt-get dnf yum pacman brew pip "
    "npm curl wget shutdown reboot systemctl mv cp git docker"
).split()
_COMMAND = re.compile(rf"\b(?:{'|'.join(map(re.escape, _COMMAND_WORDS))})\s+[-/~.\w]")


@dataclass(frozen=True)
class Claim:
    """One checkable statement in an answer: its kind and the text that states it."""

    kind: str  # number, path, quoted, name
    text: str


def sentences(text: str) -> list[str]:
    """An answer cut into sentences (and lines)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def claims(sentence: str) -> list[Claim]:
    """The values a sentence states that a result can confirm or refute."""
    found: list[Claim] = []
    paths = _PATH.findall(sentence)
    found += [Claim("path", p.rstrip(".,")) for p in paths]
    rest = sentence
    for path in paths:
        rest = rest.replace(path, " ")
    for number, unit in _SIZE.findall(rest):  # "262 MB": a size, checked as one
        found.append(Claim("size", f"{number}{unit}"))
    rest = _SIZE.sub(" ", rest)
    found += [Claim("quoted", q) for q in _QUOTED.findall(rest)]
    found += [Claim("number", n.replace(",", "")) for n in _NUMBER.findall(rest)]
    names = {*_NAME.findall(rest), *_CAPITALISED.findall(rest)}
    found += [Claim("name", n) for n in sorted(names) if n not in ("I", "OK")]
    return found


def suggests_command(sentence: str) -> bool:
    """Whether a sentence reads as advice to run a command (which no policy has checked)."""
    return bool(_BACKTICKS.search(sentence) or _COMMAND.search(sentence))


class ResultText:
    """Everything the results say, searchable: values, their text, and the sizes of lists."""

    def __init__(self, results: Sequence[Any], request: str = "") -> None:
        self.text = " ".join(
            [request, *(json.dumps(r, ensure_ascii=False, default=str) for r in results)]
        ).lower()
        self.numbers = {_plain_number(n) for n in _NUMBER.findall(self.text)}
        self.sizes = {_bytes(f"{n}{u}") for n, u in _SIZE.findall(self.text)} | self.numbers
        self.counts: set[float] = set()
        self.has_empty = False
        for data in results:
            self._walk(data, 0)

    def _walk(self, data: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(data, dict):
            for value in data.values():
                self._walk(value, depth + 1)
        elif isinstance(data, list):
            self.counts.add(float(len(data)))
            self.has_empty = self.has_empty or not data
            for value in data:
                self._walk(value, depth + 1)
        elif data in (0, 0.0):
            self.has_empty = True

    def confirms(self, claim: Claim) -> bool:
        """Whether the results (or the request) state this claim's value."""
        if claim.kind == "size":
            size = _bytes(claim.text)
            return any(s and abs(size - s) <= 0.051 * s for s in self.sizes if s == s)
        if claim.kind == "number":
            value = _plain_number(claim.text)
            return value in self.numbers or value in self.counts or _rounded_in(value, self.numbers)
        needle = claim.text.lower().strip()
        if claim.kind == "path":
            base = needle.rstrip("/").rsplit("/", 1)[-1]
            return needle in self.text or (bool(base) and base in self.text)
        return needle in self.text


def _bytes(text: str) -> float:
    from llmos_shell.errors import InvalidValueError
    from llmos_shell.vocabulary.units import parse_size

    try:
        return float(parse_size(text.replace(" ", "")))
    except InvalidValueError:
        return float("nan")


def _plain_number(text: str) -> float:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return float("nan")


def _rounded_in(value: float, numbers: Iterable[float]) -> bool:
    """A number that rounds one of the results' numbers ("84 GB" for 84.2 GB)."""
    for number in numbers:
        if number == number and abs(number) >= 1 and abs(value - number) <= 0.051 * abs(number):
            if round(number) == value or round(number, 1) == value:
                return True
    return False


def _is_data(text: str) -> bool:
    """A copy of the result as data (a code block, JSON), not an answer in words: the table
    already shows the result, so it is left out and the summary stands in."""
    text = text.strip()
    if text.startswith(("```", "{", "[")) or "```" in text:
        return True
    brackets = sum(c in "{}[]" for c in text)
    return brackets >= 2 and '":' in text.replace(" ", "")  # a JSON object's keys


def grounded_answer(
    answer: str | None, results: Sequence[Any], request: str, *, require_claim: bool = True
) -> str | None:
    """The answer if what it states is in the results: each sentence with a claim the
    results do not confirm, or with a command in it, is dropped, and a copy of the result as
    data ends it; None if nothing checked remains (then the summary stands in). Without
    `require_claim`, sentences with no claim at all count as checked (an explanation of a
    text the results hold)."""
    gate = AnswerGate.grounded(results, request, require_claim=require_claim)
    gate.feed(answer or "")
    gate.close()
    return gate.answer


_DATA_LINE = re.compile(r'^\s*(?:[{}\[\]],?\s*$|"[^"]+"\s*:)')


def _data_sentence(sentence: str) -> bool:
    """A sentence that is a piece of the result as data: a code fence, JSON, a JSON line."""
    return _is_data(sentence) or bool(_DATA_LINE.match(sentence))


Judge = Callable[[str], "int | None"]


class AnswerGate:
    """An answer checked sentence by sentence as it streams, each shown once the check vouches
    for it, so nothing shown is ever taken back.

    `judge` gives a sentence's confirmed claims (None: dropped). With `require_claim`,
    sentences wait until one sentence has a confirmed claim; with `new_to` (a headline
    shown before), until one states a value the headline does not. A sentence said before
    is dropped (a loop), a copy of the result as data ends the answer, and `max_words` cuts
    it. `head` is shown at once (`start`) and the sentences follow it after ". ";
    `marker` is shown with the first sentence. `show` gets each piece of text released.
    """

    def __init__(
        self,
        judge: Judge,
        *,
        require_claim: bool = False,
        new_to: str | None = None,
        head: str | None = None,
        marker: str | None = None,
        max_words: int | None = None,
        show: Callable[[str], None] | None = None,
    ) -> None:
        self._judge = judge
        self._require_claim = require_claim
        self._new_to = new_to
        self.head = head
        self._marker = marker
        self._max_words = max_words
        self.show = show
        self._buffer = ""
        self._seen = 0  # complete sentences judged so far
        self._held: list[str] = []  # kept, waiting for the sentence that vouches for them
        self._released: list[str] = []
        self._confirmed = 0
        self._adds = new_to is None
        self._ended = False
        self._started = False
        self.fed = False

    @classmethod
    def grounded(
        cls,
        results: Sequence[Any],
        request: str,
        *,
        require_claim: bool = True,
        new_to: str | None = None,
        head: str | None = None,
        show: Callable[[str], None] | None = None,
    ) -> AnswerGate:
        """The gate of an answer held to `results` (see `grounded_answer`)."""
        evidence = ResultText(results, request)

        def judge(sentence: str) -> int | None:
            if suggests_command(sentence):
                return None
            stated = claims(sentence)
            if any(not evidence.confirms(c) for c in stated):
                return None
            if _EMPTY.search(sentence) and not evidence.has_empty:
                return None  # "the list is empty" over a list that is not
            return len(stated)

        return cls(judge, require_claim=require_claim, new_to=new_to, head=head, show=show)

    @property
    def ended(self) -> bool:
        """Whether nothing more can be added (data came, or the word limit was reached)."""
        return self._ended

    @property
    def text(self) -> str:
        """The sentences shown (or to be shown), joined."""
        return " ".join(self._released)

    @property
    def answer(self) -> str | None:
        """The answer as a whole: head, marker and sentences; None when there is none."""
        body = self.text
        if self.head is not None:
            return f"{self.head}. {body}" if body else self.head
        if not body:
            return None
        return f"{self._marker} {body}" if self._marker else body

    def start(self) -> None:
        """Show the head at once (before the model writes)."""
        if not self._started:
            self._started = True
            if self.head is not None and self.show is not None:
                self.show(self.head)

    def feed(self, piece: str) -> None:
        """Take a piece of the model's answer; show the sentences it completes and vouches."""
        self.fed = True
        if self._ended or not piece:
            return
        self._buffer += piece
        parts = [s.strip() for s in _SENTENCE.split(self._buffer.lstrip())]
        self._take([p for p in parts[:-1] if p])

    def close(self) -> None:
        """The model is done: its last sentence is complete."""
        if not self._ended:
            parts = [s.strip() for s in _SENTENCE.split(self._buffer.strip())]
            self._take([p for p in parts if p])
        self._ended = True
        self.start()

    def _take(self, complete: list[str]) -> None:
        for sentence in complete[self._seen :]:
            self._seen += 1
            sentence = " ".join(sentence.split())
            if self._ended:
                return
            if _data_sentence(sentence):
                self._ended = True  # the result copied as data: the answer ends here
                return
            if sentence in self._released or sentence in self._held:
                continue
            confirmed = self._judge(sentence)
            if confirmed is None:
                continue
            self._confirmed += confirmed
            if not self._adds and self._new_to is not None:
                self._adds = adds_to(sentence, self._new_to)
            self._held.append(sentence)
            if self._adds and (self._confirmed or not self._require_claim):
                self._release()

    def _release(self) -> None:
        held, self._held = self._held, []
        for sentence in held:
            if self._max_words is not None:
                room = self._max_words - len(self.text.split())
                words = sentence.split()
                if len(words) >= room:
                    sentence = " ".join(words[:room])
                    self._ended = True
            self.start()
            if self.show is not None and sentence:
                self.show(self._lead() + sentence)
            if sentence:
                self._released.append(sentence)
            if self._ended:
                return

    def _lead(self) -> str:
        """What goes before the next sentence shown: a space, the head's ". ", the marker."""
        if self._released:
            return " "
        if self.head is not None:
            return ". "
        return f"{self._marker} " if self._marker else ""


def adds_to(answer: str, line: str) -> bool:
    """Whether an answer states a value the headline does not (so it is worth showing too)."""
    shown = line.lower()
    return any(claim.text.lower() not in shown for claim in claims(answer))


def claim_free_reply(answer: str | None) -> str | None:
    """A reply without tools kept as it is: short, with no claim and no command in it."""
    if not answer or not answer.strip():
        return None
    text = " ".join(answer.split())
    if len(text.split()) > MAX_CLAIM_FREE_WORDS or suggests_command(text):
        return None
    if any(claims(s) for s in sentences(text)):
        return None
    return text


# --- the summary of a result --------------------------------------------------------------------

_IDENTITY = ("name", "path", "mountpoint", "process", "address", "file", "title", "id")


def summarize(results: Sequence[Any], request: str) -> str | None:
    """One line built from the last result's own structure, with its values copied."""
    for data in reversed(results):
        line = _summary_of(data, request)
        if line:
            return line
    return None


def _summary_of(data: Any, request: str) -> str | None:
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return _rows_summary("items", data, request)
    if not isinstance(data, dict):
        return None
    rows = [
        (k, v)
        for k, v in data.items()
        if isinstance(v, list) and all(isinstance(r, dict) for r in v)
    ]
    if rows:
        key, value = max(rows, key=lambda kv: len(kv[1]))
        return _rows_summary(key.replace("_", " "), value, request)
    fields = _scalar_fields(data)
    if not fields:
        return None
    chosen = (_asked_fields(fields, request) or fields)[:3]
    return ", ".join(f"{label} {value}" for label, value in chosen)


def _rows_summary(label: str, rows: list[dict[str, Any]], request: str) -> str:
    count = len(rows)
    if not rows:
        return f"no {label}"
    first = _scalar_fields(rows[0])
    identity = next((v for k, v in first if k.split()[-1] in _IDENTITY), None)
    asked = _asked_fields(first, request)
    measures = asked or [(k, v) for k, v in first if k.endswith(("size", "percent", "%"))][:1]
    head = f"{count} {label if count != 1 else _singular(label)}"
    if identity is None:
        return head
    detail = ", ".join([str(identity), *(f"{k} {v}" if asked else v for k, v in measures)])
    return f"{head}; the first: {detail}"


def _singular(word: str) -> str:
    """An English plural made singular, for "1 match", "1 entry", "1 process"."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("s", "x", "ch", "sh")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _asked_fields(fields: list[tuple[str, str]], request: str) -> list[tuple[str, str]]:
    """The fields whose names the request uses ("free" in "how much space is free")."""
    words = set(re.findall(r"[a-z]{3,}", request.lower()))
    return [f for f in fields if set(re.findall(r"[a-z]{3,}", f[0].lower())) & words][:2]


def _scalar_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of a record's scalar fields, human twins in place of raw numbers."""
    out = []
    for key, value in record.items():
        if value is None or isinstance(value, (dict, list)) or f"{key}_human" in record:
            continue
        if isinstance(value, str) and ("\n" in value or len(value) > 120):
            continue
        label = str(key).removesuffix("_human").replace("_", " ")
        out.append((label, str(value) if not isinstance(value, float) else f"{value:.1f}"))
    return out


def honest_limits(closest: Sequence[Any]) -> str:
    """What to say when no tool does what was asked: the closest tools, in one sentence."""
    from llmos_shell.planning.synthesis import purpose

    if not closest:
        return "None of my tools can do that; `llmos tools` lists what I can do."
    parts = [f"{purpose(item.description)} ({item.name})" for item in closest[:2]]
    return (
        f"None of my tools can do that. The closest: {'; '.join(parts)}. "
        "`llmos tools` lists them all."
    )
