"""Sizes and ages: the words people write for them, read and written in one way.

One table per unit family. The tools parse with it ("10 megs" is 10,000,000 bytes), the
planner normalises with it ("10 megs" becomes "10MB"), the planner's request reader builds
its patterns from it, and every size shown to a person is spelled by `human_size`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from llmos_shell.errors import InvalidValueError


@dataclass(frozen=True)
class Unit:
    """One way of writing a unit: how much it is, and its canonical spelling."""

    size: int  # bytes for a size unit
    spelling: str


# GNU coreutils' convention: K, M, G, KiB... are powers of 1024; KB, MB, GB... powers of 1000.
SIZE_UNITS: dict[str, Unit] = {"b": Unit(1, ""), "byte": Unit(1, ""), "bytes": Unit(1, "")}
for _power, _letter in enumerate("kmgtp", start=1):
    _upper = _letter.upper()
    SIZE_UNITS[_letter] = Unit(1024**_power, _upper)
    SIZE_UNITS[f"{_letter}ib"] = Unit(1024**_power, f"{_upper}iB")
    SIZE_UNITS[f"{_letter}b"] = Unit(1000**_power, f"{_upper}B")
# Words people type: "10 megs", "2 gigabytes" (decimal, like MB and GB).
for _power, _words in enumerate(
    (("kilobyte",), ("meg", "megabyte"), ("gig", "gigabyte"), ("terabyte",)), start=1
):
    for _word in _words:
        _unit = Unit(1000**_power, "KMGT"[_power - 1] + "B")
        SIZE_UNITS[_word] = SIZE_UNITS[f"{_word}s"] = _unit
# ... and their binary twins: "2 gibibytes" (like GiB).
for _power, _word in enumerate(("kibibyte", "mebibyte", "gibibyte", "tebibyte"), start=1):
    _unit = Unit(1024**_power, "KMGT"[_power - 1] + "iB")
    SIZE_UNITS[_word] = SIZE_UNITS[f"{_word}s"] = _unit

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)
SIZE_EXAMPLE = "'10MB', '1.5 GiB', '500k' or '2048'"


def parse_size(text: str | int | float) -> int:
    """Bytes in a human size: "10MB" (10**7), "1.5 GiB", "500k" (500 * 1024), "2048"."""
    if isinstance(text, bool):
        raise InvalidValueError(f"size {text!r} is not a size; write one like '10MB' or '500k'")
    if isinstance(text, (int, float)):
        if text < 0:
            raise InvalidValueError(f"size {text!r} is negative; write one like '10MB' or '500k'")
        return int(text)
    match = _SIZE_RE.match(text)
    unit_word = match.group(2).lower() if match else ""
    if match is None or (unit_word and unit_word not in SIZE_UNITS):
        raise InvalidValueError(f"cannot read {text!r} as a size; write one like {SIZE_EXAMPLE}")
    multiplier = SIZE_UNITS[unit_word].size if unit_word else 1
    try:
        return int(float(match.group(1)) * multiplier)
    except OverflowError:  # so many digits that the number is infinite
        raise InvalidValueError(
            f"size {text[:40]!r} is too large to be a size; write one like {SIZE_EXAMPLE}"
        ) from None


def normalize_size(value: object) -> object:
    """ "10 megs" -> "10MB", "1.5 gigabytes" -> "1.5GB"; anything unreadable unchanged."""
    if not isinstance(value, str):
        return value
    match = _SIZE_RE.match(value)
    if not match:
        return value
    unit = SIZE_UNITS.get(match.group(2).lower()) if match.group(2) else Unit(1, "")
    if unit is None:
        return value
    return f"{match.group(1)}{unit.spelling}"


def size_unit_named(word: str) -> Unit | None:
    """The unit a word names when it can only be a size unit ("MB", "gigabytes", "GiB"):
    single letters and "bytes" are left out, being ordinary words in a sentence."""
    word = word.strip().lower()
    unit = SIZE_UNITS.get(word)
    if unit is None or len(word) < 2 or unit.size == 1:
        return None
    return unit


def human_size(num_bytes: int | float | None, unit: Unit | None = None) -> str:
    """A byte count for people, in powers of 1000: 1500000 -> "1.5 MB"; None -> "—".

    With `unit` (the person's preference, "sizes in MB"), always in that unit: "1,500 MB".
    """
    if num_bytes is None:
        return "—"
    value = float(num_bytes)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if unit is not None and unit.size > 1:
        scaled = value / unit.size
        text = (
            f"{scaled:,.1f}".removesuffix(".0") if scaled >= 0.1 or not scaled else f"{scaled:.2g}"
        )
        return f"{sign}{text} {unit.spelling}"
    if value < 1000:
        return f"{sign}{int(value)} B"
    for spelling in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.95 or spelling == "PB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{sign}{text} {spelling}"
    raise AssertionError("unreachable")


# --- ages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeUnit:
    """One way of writing a span of time: its length and its canonical letter(s)."""

    span: timedelta
    spelling: str


# The one table of time units, for ages ("older than 3 days") and schedules ("every 2 hours"):
# per unit, its abbreviations, the words written in sentences (each also with an "s"), its
# length, its canonical spelling, and the name schedules count it in. "mon" is no month: it
# is Monday (scheduler.words).
_TIME_FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...], timedelta, str, str], ...] = (
    (("s",), ("second", "sec"), timedelta(seconds=1), "s", "seconds"),
    (("m",), ("minute", "min"), timedelta(minutes=1), "m", "minutes"),
    (("h",), ("hour", "hr"), timedelta(hours=1), "h", "hours"),
    (("d",), ("day",), timedelta(days=1), "d", "days"),
    (("w",), ("week", "wk"), timedelta(weeks=1), "w", "weeks"),
    (("mo",), ("month",), timedelta(days=30), "mo", "months"),
    (("y",), ("year", "yr"), timedelta(days=365), "y", "years"),
)
_AGE_FAMILIES = tuple(family[:4] for family in _TIME_FAMILIES)
# Every way of writing a unit -> the name schedules count it in ("hrs" -> "hours").
INTERVAL_WORDS: dict[str, str] = {
    name: field
    for short, words, _, _, field in _TIME_FAMILIES
    for name in (*short, *words, *(f"{word}s" for word in words))
}
# The words for a unit as written in a sentence ("3 hours", "a week"), singular.
AGE_WORDS: dict[str, AgeUnit] = {
    word: AgeUnit(span, spelling) for _, words, span, spelling in _AGE_FAMILIES for word in words
}
AGE_UNITS: dict[str, AgeUnit] = {
    name: AgeUnit(span, spelling)
    for short, words, span, spelling in _AGE_FAMILIES
    for name in (*short, *words, *(f"{word}s" for word in words))
}
# Spans written as days where a person counts them so ("last 2 weeks" -> "14d").
DAYS_PER_UNIT = {"w": 7, "mo": 30, "y": 365}

# Counts written as words: "a week", "two days", "a couple of hours".
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "couple of": 2,
    "few": 3,
}
# Ages named by a phrase rather than a count: what "this week" or "today" spans.
AGE_PHRASES = {"this week": "7d", "this month": "30d", "this year": "365d", "today": "1d"}

_AGE_RE = re.compile(
    r"^(?:in\s+)?(?:the\s+)?(?:last\s+|past\s+|within\s+)?(\d+(?:\.\d*)?|an?|one)?\s*"
    r"([a-z]+?)(?:\s+ago)?$"
)
AGE_EXAMPLE = "'7d', '24h', '2 weeks', 'last week', 'yesterday' or '2024-05-01'"


def _age_match(text: str) -> tuple[float, AgeUnit] | None:
    """The count and unit of a span such as "7d", "last week", "3 hours ago"."""
    match = _AGE_RE.match(" ".join(text.strip().lower().split()))
    if not match or match.group(2) not in AGE_UNITS:
        return None
    count = match.group(1)
    number = 1.0 if count in (None, "a", "an", "one") else float(count)
    return number, AGE_UNITS[match.group(2)]


def parse_age(text: str, now: datetime | None = None) -> timedelta | datetime:
    """A span ("7d", "2 hours", "last week") as a timedelta, or a moment ("yesterday", ISO date)."""
    now = now or datetime.now()
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in ("today", "this morning"):
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if cleaned == "yesterday":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    if cleaned in ("now", "just now"):
        return timedelta(0)
    found = _age_match(cleaned)
    if found is not None:
        number, unit = found
        try:
            return unit.span * number
        except OverflowError:
            raise InvalidValueError(
                f"{text!r} is further back than a date can go; write one like {AGE_EXAMPLE}"
            ) from None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValueError(
            f"cannot read {text!r} as a time; write one like {AGE_EXAMPLE}"
        ) from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone().replace(tzinfo=None)
        except (OverflowError, ValueError, OSError):  # 0001-01-01T00:00+14:00 is before year 1
            raise InvalidValueError(
                f"{text!r} is further back than a date can go; write one like {AGE_EXAMPLE}"
            ) from None
    return moment


def normalize_age(value: object) -> object:
    """ "last week" -> "1w", "3 hours" -> "3h", "this month" -> "30d"; others unchanged."""
    if not isinstance(value, str):
        return value
    lowered = " ".join(value.strip().lower().split())
    if lowered in AGE_PHRASES:
        return AGE_PHRASES[lowered]
    found = _age_match(lowered)
    if found is None:
        return value
    number, unit = found
    count = int(number) if number == int(number) else number
    return f"{count}{unit.spelling}"


def cutoff_timestamp(text: str, now: datetime | None = None) -> float:
    """The POSIX time that an age names: now minus a span, or the moment itself."""
    now = now or datetime.now()
    age = parse_age(text, now)
    try:
        moment = now - age if isinstance(age, timedelta) else age
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        raise InvalidValueError(
            f"{text!r} is further back than a date can go; write one like {AGE_EXAMPLE}"
        ) from None


_HUMAN_SIZE = re.compile(r"^-?[\d.,]+(?:e-?\d+)? ?(?:B|[KMGTP]i?B)$")


def restate_sizes(data: object, unit: Unit) -> object:
    """`data` with every size a tool wrote for people (a `NAME_human` twin of a byte count
    `NAME`) written again in `unit`, at any depth; everything else as it was."""
    if isinstance(data, list):
        return [restate_sizes(item, unit) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[object, object] = {}
    for key, value in data.items():
        stem = key.removesuffix("_human") if isinstance(key, str) else None
        raw = data.get(stem) if stem and stem != key else None
        if (
            isinstance(value, str)
            and isinstance(raw, (int, float))
            and not isinstance(raw, bool)
            and _HUMAN_SIZE.match(value)
        ):
            out[key] = human_size(raw, unit)
        else:
            out[key] = restate_sizes(value, unit)
    return out
