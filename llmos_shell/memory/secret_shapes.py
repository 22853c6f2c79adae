"""What people type that is a secret, read from data: labelled values, cards, ids, seed phrases.

The tables live in `llmos_shell/data/secret_words.json` (which words name a secret and what its
value looks like, national id shapes and their checksums, card issuer prefixes) and
`bip39-english.txt` (the recovery-phrase words). Each finder returns what kind of secret it
saw ("a card number"), or None.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

_MAX_PHRASE = 6  # words in the longest label ("three digits on the back")
_LOOKAHEAD = 6  # tokens between a label and its value ("password for the guest wifi is")
_PREPOSITIONS = frozenset({"for", "of", "on", "to", "at", "in", "from"})
_CLAUSE_END = "\n"  # the token that stands for a sentence or clause boundary
_CUE_WINDOW = 60  # characters before an id number in which its cue word must appear


@dataclass(frozen=True)
class _Label:
    what: str
    value: str  # "word", "pair" or "digits"
    min_digits: int = 0
    max_digits: int = 0


@dataclass(frozen=True)
class _Shape:
    what: str
    pattern: re.Pattern[str]
    check: str
    cue: bool


@dataclass(frozen=True)
class _Tables:
    labels: dict[tuple[str, ...], _Label]
    connectors: frozenset[tuple[str, ...]]
    fillers: frozenset[str]
    descriptions: frozenset[str]
    id_cues: re.Pattern[str]
    id_shapes: tuple[_Shape, ...]
    card_cues: re.Pattern[str]
    card_prefixes: tuple[tuple[int, int, int], ...]  # (digits, low, high)
    phrase_cues: re.Pattern[str]
    bip39: frozenset[str]


def _words_pattern(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w])", re.I)


@functools.lru_cache(maxsize=1)
def tables() -> _Tables:
    """The detector's tables, read once from the package's data files."""
    data_dir = resources.files("llmos_shell.data")
    raw: dict[str, Any] = json.loads(data_dir.joinpath("secret_words.json").read_text("utf-8"))
    labels: dict[tuple[str, ...], _Label] = {}
    for entry in raw["labels"]:
        label = _Label(
            entry["what"], entry["value"], entry.get("min_digits", 0), entry.get("max_digits", 0)
        )
        for phrase in entry["words"]:
            labels.setdefault(tuple(_tokens(phrase)), label)
    prefixes = []
    for prefix in raw["card_prefixes"]:
        low, _, high = prefix.partition("-")
        prefixes.append((len(low), int(low), int(high or low)))
    return _Tables(
        labels=labels,
        connectors=frozenset(tuple(_tokens(c)) for c in raw["connectors"]),
        fillers=frozenset(raw["fillers"]),
        descriptions=frozenset(raw["descriptions"]),
        id_cues=_words_pattern(raw["id_cues"]),
        id_shapes=tuple(
            _Shape(s["what"], re.compile(s["pattern"]), s["check"], s["cue"])
            for s in raw["id_shapes"]
        ),
        card_cues=_words_pattern(raw["card_cues"]),
        card_prefixes=tuple(prefixes),
        phrase_cues=_words_pattern(raw["phrase_cues"]),
        bip39=frozenset(data_dir.joinpath("bip39-english.txt").read_text("utf-8").split()),
    )


def _tokens(text: str) -> list[str]:
    """Lower-case words, with `=` and `:` (not `://`) and `/` between words as their own
    tokens, and a clause end where a sentence or clause stops."""
    spaced = re.sub(r"\s*(=>|->|=|:(?!//)|(?<=\s)/(?=\s))\s*", r" \1 ", text.lower())
    out: list[str] = []
    for raw in spaced.split():
        word = raw.strip("\"'`()[]{}<>")
        end = word[-1:] in (",", ";", "!", "?") or (word.endswith(".") and len(word) > 1)
        word = word.rstrip(",;!?.") if end else word
        if word:
            out.append(word)
        if end:
            out.append(_CLAUSE_END)
    return out


def labelled_secret(text: str) -> str | None:
    """A value named as a secret: "the root pw is toor", "door code 4821#", "1234 is my PIN"."""
    t = tables()
    words = _tokens(text)
    i = 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            label = t.labels.get(tuple(words[i : i + size]))
            if label is None:
                continue
            if _value_after(words, i + size, label) or _value_before(words, i, label):
                return label.what
            i += size - 1
            break
        i += 1
    return None


def _connector_at(words: list[str], at: int) -> int:
    """How many tokens the connector at `at` spans ("is", "set to"), or 0."""
    connectors = tables().connectors
    for size in (2, 1):
        if tuple(words[at : at + size]) in connectors:
            return size
    return 0


def _value_after(words: list[str], start: int, label: _Label) -> bool:
    t = tables()
    free = False  # after a preposition, any few words name what the secret is for
    at = start
    while at < len(words) and at - start <= _LOOKAHEAD:
        word = words[at]
        if word == _CLAUSE_END:
            return False
        size = _connector_at(words, at)
        if size:
            return _is_value(words[at + size :], label)
        if label.value == "digits" and _digits_fit(word, label):
            return True
        if word in _PREPOSITIONS:
            free = True
        elif not free and word not in t.fillers:
            return False
        at += 1
    return False


def _value_before(words: list[str], end: int, label: _Label) -> bool:
    """ "hunter2 is the wifi password": a value, `is`, then the label (up to two words
    between, such as "the wifi")."""
    t = tables()
    at = end - 1
    skipped = 0
    while at >= 1 and skipped <= 3:
        if words[at] in ("is", "was"):
            return _is_value(words[at - 1 : at], label)
        if words[at] == _CLAUSE_END:
            return False
        skipped += words[at] not in t.fillers
        at -= 1
    return False


def _is_value(rest: list[str], label: _Label) -> bool:
    """Whether the words after a connector hold a secret of the label's shape."""
    t = tables()
    clause = []
    for word in rest:
        if word == _CLAUSE_END:
            break
        clause.append(word)
    if not clause:
        return False
    first = clause[0]
    if label.value == "digits":  # "31 44 09": a code typed in groups
        groups = []
        for word in clause:
            if not re.fullmatch(r"[\d#*-]+", word):
                break
            groups.append(word)
        return _digits_fit("".join(groups) or first, label)
    if label.value == "pair":
        if len(clause) >= 3 and clause[1] in ("/", ":"):
            return clause[0] not in t.descriptions and clause[2] not in t.descriptions
        inner = re.fullmatch(r"([^/:~.\s][^/:\s]*)[/:]([^/:\s]+)", first)
        return inner is not None and not any(g in t.descriptions for g in inner.groups())
    if first not in t.descriptions and first not in _PREPOSITIONS:
        return not _connector_at(clause, 0)
    # "correct horse battery staple": a passphrase of plain words that describe nothing
    return len(clause) >= 3 and not any(word in t.descriptions for word in clause[1:])


def _digits_fit(word: str, label: _Label) -> bool:
    plain = re.sub(r"[#*\-.\s]", "", word)
    return plain.isdigit() and label.min_digits <= len(plain) <= label.max_digits


# Cards ------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d])")


def luhn(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (cards, Canadian SINs)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number(text: str) -> str | None:
    """A payment card number: 13 to 19 digits that pass Luhn, with a card word or an issuer's
    prefix."""
    t = tables()
    cued = t.card_cues.search(text) is not None
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if not 13 <= len(digits) <= 19 or not luhn(digits) or len(set(digits)) < 2:
            continue
        if cued or any(low <= int(digits[:n]) <= high for n, low, high in t.card_prefixes):
            return "a card number"
    return None


# National id numbers ----------------------------------------------------------------------


def id_number(text: str) -> str | None:
    """A national id (or bank account) number, by its shape and checksum from the table."""
    t = tables()
    for shape in t.id_shapes:
        for match in shape.pattern.finditer(text):
            before = text[max(0, match.start() - _CUE_WINDOW) : match.start()]
            if shape.cue and not t.id_cues.search(before):
                continue
            if _CHECKS[shape.check](match.group()):
                return shape.what
    return None


def _us_ssn(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _cpf(value: str) -> bool:
    d = [int(c) for c in re.sub(r"\D", "", value)]
    if len(set(d)) == 1:
        return False
    for n in (9, 10):
        check = sum(v * (n + 1 - i) for i, v in enumerate(d[:n])) * 10 % 11 % 10
        if check != d[n]:
            return False
    return True


def _elfproef(value: str) -> bool:
    d = [int(c) for c in value]
    return (sum(v * (9 - i) for i, v in enumerate(d[:8])) - d[8]) % 11 == 0 and any(d)


def _dni(value: str) -> bool:
    number, letter = value[:8], value[-1].upper()
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == letter


def _iban(value: str) -> bool:
    plain = value.replace(" ", "")
    moved = plain[4:] + plain[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


_CHECKS: dict[str, Callable[[str], bool]] = {
    "none": lambda value: True,
    "luhn": lambda value: luhn(re.sub(r"\D", "", value)),
    "luhn_last10": lambda value: luhn(re.sub(r"\D", "", value)[-10:]),
    "us_ssn": _us_ssn,
    "cpf": _cpf,
    "elfproef": _elfproef,
    "dni": _dni,
    "iban": _iban,
    "verhoeff": lambda value: True,  # shape and cue only
}


# Recovery phrases -------------------------------------------------------------------------

_RUN = 12  # the shortest BIP-39 phrase
_RUN_WITH_CUE = 6  # "my seed phrase is ..." followed by part of one


def recovery_phrase(text: str) -> str | None:
    """A wallet's recovery (seed) phrase: twelve or more BIP-39 words in a row (fewer after a
    word such as "seed phrase")."""
    t = tables()
    need = _RUN_WITH_CUE if t.phrase_cues.search(text) else _RUN
    run = longest = 0
    for raw in text.lower().split():
        word = raw.strip("\"'`()[]{},;:.!?")
        if re.fullmatch(r"#?\d{1,2}[.):]?", raw):
            continue  # "1. abandon 2. ability": the numbering is not part of the phrase
        run = run + 1 if word in t.bip39 else 0
        longest = max(longest, run)
    return "a recovery (seed) phrase" if longest >= need else None
