"""What a piece of text looks like: a date, a time, a number, an email address, a phone number.

A span that looks like a date belongs in a date argument, not in a city's; a request with no
date in it gives a date argument nothing to copy. The planner reads the shapes here.
"""

from __future__ import annotations

import re

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_WEEKDAYS = "mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
DATE = re.compile(
    rf"^(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}(?:[ t]\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}|"
    rf"(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS})(?: \d{{4}})?)$",
    re.IGNORECASE,
)
TIME = re.compile(
    r"^(?:\d{1,2}:\d{2}(?::\d{2})?(?: ?[ap]\.?m\.?)?|\d{1,2} ?[ap]\.?m\.?|noon|midnight)$", re.I
)
NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?%?$")
EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
PHONE = re.compile(r"^\+?[\d(][\d ().-]{5,}\d$")
# Words that name a day or a time without digits.
WHEN_WORDS = re.compile(
    rf"\b(?:today|tonight|tomorrow|yesterday|this (?:morning|afternoon|evening|week|month)|"
    rf"next (?:week|month|year|{_WEEKDAYS})|last (?:week|month|year|{_WEEKDAYS})|{_WEEKDAYS}|"
    rf"(?:{_MONTHS})\b|noon|midnight|morning|evening|\d{{1,2}} ?[ap]m\b|\d{{1,2}}:\d{{2}}|\d{{4}}-\d{{1,2}}-\d{{1,2}})",
    re.IGNORECASE,
)


def is_when(text: str) -> bool:
    """Whether a span is a date or a time written out."""
    return bool(DATE.match(text) or TIME.match(text))


def is_number(text: str) -> bool:
    """Whether a span is just a number."""
    return bool(NUMBER.match(text))


def mentions_when(text: str) -> bool:
    """Whether a request says a day or a time anywhere, in digits or in words."""
    return bool(WHEN_WORDS.search(text))
