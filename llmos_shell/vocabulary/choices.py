"""What people say for an option: sort orders, what to find, how to write, how hard to stop.

Each entry is a value tools commonly offer in an enum (compared without case) and the
phrases that state it. A tool whose enum holds the value gets it when the request states it;
an enum value the request does not state is left at the tool's default.
"""

from __future__ import annotations

import re

CHOICE_PHRASES: dict[str, str] = {
    "cpu": r"\b(?:cpu|processor)\b",
    "memory": r"\b(?:memory|ram|mem)\b",
    "size": r"\b(?:biggest|largest|by size|big ones|size order|heaviest)|(?:^|\s)-[lahr1]*S[lahr1]*\b",
    "modified": r"\b(?:newest|latest|most recent(?:ly)?|by date|by time|recently|last modified)"
    r"|(?:^|\s)-[lahr1]*t[lahr1]*\b",
    "pid": r"\bby pid\b",
    "name": r"\bby name\b|alphabetical",
    "dir": r"\b(?:folders|directories|dirs)\b|-type d\b",
    "append": r"\bappend\b|\badd\b.*\bto\b|>>|to the end of",
    "kill": r"-9\b|-kill\b|sigkill|\bforce\b|\bhard\b|\bfrozen\b|\bfroze\b",
}
# Switches stated in other words than their names: "dotfiles" for hidden, "-i" for case.
FLAG_PHRASES: dict[str, str] = {
    "hidden": r"\bhidden\b|\bdot ?files\b|(?:^|\s)-[lhtrsS1]*a[lhtrsS1]*\b",
    "case": r"any case|ignor\w* case|case[- ]insensitive|upper or lower|\s-[rRnlwHE]*i[rRnlwHE]*\b",
}


def _states(pattern: str, request: str) -> bool:
    # Words are matched in lower case; option letters (`ls -lS`) as they were written.
    return bool(re.search(pattern, request) or re.search(pattern, request.lower()))


def stated_choices(request: str) -> list[str]:
    """The enum values the request states, in the table's order (sort orders first)."""
    return [value for value, pattern in CHOICE_PHRASES.items() if _states(pattern, request)]


def stated_flags(request: str) -> set[str]:
    """The switches the request states in words of their own."""
    return {flag for flag, pattern in FLAG_PHRASES.items() if _states(pattern, request)}
