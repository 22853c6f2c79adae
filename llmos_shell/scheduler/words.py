"""The words of time phrases: one table each for numbers, units, weekdays, months, parts of day.

The reader (`phrases.py`) and the plain-words renderer (`triggers.py`) both read these, so a
word added here is understood and written the same way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmos_shell.vocabulary import units

# Counts and units come from the one table of time words.
NUMBER_WORDS = {word: n for word, n in units.NUMBER_WORDS.items() if " " not in word}
# Unit word -> the IntervalTrigger field it counts.
UNITS = units.INTERVAL_WORDS
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}

# Weekday word -> 0 (Monday) .. 6 (Sunday); plurals ("mondays") mean "every".
WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
WEEKDAY_PLURALS = {f"{name}s": day for name, day in WEEKDAYS.items() if len(name) > 4}
CRON_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler's names
SHOWN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
SHOWN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PartOfDay:
    """A part of the day: the time it means alone, and whether a bare hour in it is pm."""

    default: tuple[int, int]
    pm_from: int  # a bare hour from this one up to 11 is read as pm (12: never)
    pm_until: int = 11


PARTS_OF_DAY = {
    "morning": PartOfDay((8, 0), pm_from=12),
    "noon": PartOfDay((12, 0), pm_from=12),
    "midday": PartOfDay((12, 0), pm_from=12),
    "afternoon": PartOfDay((14, 0), pm_from=1),
    "evening": PartOfDay((19, 0), pm_from=1),
    "tonight": PartOfDay((22, 0), pm_from=6),  # "tonight at 2" is 02:00, "at 11" 23:00
    "night": PartOfDay((22, 0), pm_from=6),
}

# Words that start a time phrase for certain: a failure to read what follows them is reported,
# rather than taken as the start of the action.
RECURRING_STARTS = frozenset(
    {"every", "each", "daily", "hourly", "weekly", "monthly", "yearly", "annually", "nightly"}
    | {"weekdays", "weekends", *WEEKDAY_PLURALS}
)
# Words that ask to be told something later: with a time anywhere in the request ("remind me
# in 20 minutes to stretch"), the request is an automation.
REMINDER_WORDS = frozenset({"remind", "reminder", "reminders", "alarm", "nudge"})
DATE_STARTS = frozenset({"today", "tonight", "tomorrow", "yesterday", "next", "last", "this"})

_TOKEN = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}"  # an ISO date
    r"|\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?(?![a-z]))?"  # 9:30, 9.30pm
    r"|:\d{2}"  # :15 (minutes past the hour)
    r"|\d+(?:st|nd|rd|th)\b"  # 1st, 15th
    r"|\d+\s*[ap]\.?m\.?(?![a-z])"  # 9am, 9 p.m.
    r"|\d+"
    r"|[a-z]+(?:'[a-z]+)?"
    r"|\S",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    """One word of a request, lower-cased, with where it stands in the original text."""

    word: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """The words, numbers, times and signs of `text`, in order."""
    return [
        Token(re.sub(r"\s+", "", m.group(0).lower().replace("\u2019", "'")), m.start(), m.end())
        for m in _TOKEN.finditer(text)
    ]


def number(word: str) -> int | None:
    """A count written in digits or in words ("3", "three", "an"), else None."""
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def ordinal(word: str) -> int | None:
    """A day of the month written "1st", "15th" or "15", else None."""
    match = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?", word)
    return int(match.group(1)) if match else None


_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?([ap])?\.?m?\.?")


def clock(word: str) -> tuple[int, int, str | None] | None:
    """A time of day in one token: (hour, minute, "a" | "p" | None), else None."""
    match = _CLOCK.fullmatch(word)
    if not match:
        return None
    if match.group(3) is None and match.group(0) != match.group(0).rstrip("m."):
        return None  # "9m" is nine minutes, not a time
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return hour, minute, match.group(3)


def shown_time(hour: int, minute: int) -> str:
    """A time of day as shown everywhere: 09:00."""
    return f"{hour:02d}:{minute:02d}"


def shown_ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 11th, 21st."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
