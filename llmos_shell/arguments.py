"""Tidy the arguments a model wrote before they are shown or run.

Small models write what the person said: "here", "my downloads", "10 megs", "1 week".
Paths become ones the tools resolve the same way everywhere ("." for here, "~/Downloads"
for the downloads folder when no such folder is beside you), sizes and ages get one spelling
("10MB", "7d"). A value that cannot be read is left as it is, for the tool to explain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from llmos_shell.calls import ToolCall

PATH_ARGS = frozenset({"path", "source", "destination", "cwd", "directory", "folder"})
SIZE_ARGS = frozenset({"min_size", "max_size", "size"})
AGE_ARGS = frozenset({"modified_within", "modified_before", "since", "older_than", "newer_than"})

_HERE = frozenset(
    {
        "here",
        "this folder",
        "this directory",
        "this dir",
        "current folder",
        "current directory",
        "current dir",
        "the current folder",
        "the current directory",
        "cwd",
        "pwd",
        "$pwd",
        "./",
    }
)
_HOME = frozenset(
    {"home", "my home", "home folder", "my home folder", "home directory", "my home directory"}
)
_KNOWN_FOLDERS = {
    name.lower(): name
    for name in ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Videos", "Public")
}
_FOLDER_WORDS = re.compile(r"^(?:the\s+|my\s+)?([a-z]+?)(?:\s+(?:folder|directory|dir))?$")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_SIZE_WORDS = {
    "b": "B",
    "byte": "B",
    "bytes": "B",
    "k": "K",
    "kb": "KB",
    "kilobyte": "KB",
    "kilobytes": "KB",
    "kib": "KiB",
    "m": "M",
    "mb": "MB",
    "meg": "MB",
    "megs": "MB",
    "megabyte": "MB",
    "megabytes": "MB",
    "mib": "MiB",
    "g": "G",
    "gb": "GB",
    "gig": "GB",
    "gigs": "GB",
    "gigabyte": "GB",
    "gigabytes": "GB",
    "gib": "GiB",
    "t": "T",
    "tb": "TB",
    "terabyte": "TB",
    "terabytes": "TB",
    "tib": "TiB",
}

_AGE = re.compile(
    r"^(?:in\s+)?(?:the\s+)?(?:last|past|within)?\s*(\d+|an?|one)?\s*"
    r"(minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|mo|years?|yrs?|y)"
    r"(?:\s+ago)?$"
)
_AGE_UNIT = {"min": "m", "h": "h", "hr": "h", "d": "d", "w": "w", "mo": "mo", "y": "y"}
_AGE_WORDS = {"this week": "7d", "this month": "30d", "this year": "365d", "today": "1d"}


def normalize_path(value: str, cwd: Path | None = None) -> str:
    """ "here" -> ".", "my home" -> "~", "downloads" -> "~/Downloads" when not beside you."""
    text = value.strip()
    lowered = " ".join(text.lower().split())
    if lowered in _HERE:
        return "."
    if lowered in _HOME or lowered in ("$home", "${home}"):
        return "~"
    for prefix in ("$HOME/", "${HOME}/"):
        if text.startswith(prefix):
            return "~/" + text[len(prefix) :]
    match = _FOLDER_WORDS.match(lowered)
    if match and match.group(1) in _KNOWN_FOLDERS and "/" not in text:
        beside = (cwd or Path.cwd()) / text
        if not beside.exists():
            return "~/" + _KNOWN_FOLDERS[match.group(1)]
    return text


def normalize_size(value: Any) -> Any:
    """ "10 megs" -> "10MB", "1.5 gigabytes" -> "1.5GB"; anything else unchanged."""
    if not isinstance(value, str):
        return value
    match = _SIZE.match(value)
    if not match:
        return value
    unit = _SIZE_WORDS.get(match.group(2).lower())
    if unit is None:
        return value
    number = match.group(1)
    return number if unit == "B" else f"{number}{unit}"


def normalize_age(value: Any) -> Any:
    """ "last week" -> "1w", "3 hours" -> "3h", "this month" -> "30d"; others unchanged."""
    if not isinstance(value, str):
        return value
    lowered = " ".join(value.strip().lower().split())
    if lowered in _AGE_WORDS:
        return _AGE_WORDS[lowered]
    match = _AGE.match(lowered)
    if not match:
        return value
    count = match.group(1)
    number = "1" if count in (None, "a", "an", "one") else count
    word = match.group(2)
    for stem, short in sorted(_AGE_UNIT.items(), key=lambda kv: -len(kv[0])):
        if word.startswith(stem):
            return f"{number}{short}"
    return value


def normalize_arguments(call: ToolCall, cwd: Path | None = None) -> ToolCall:
    """The call with its paths, sizes and ages written the way the tools read them best."""
    fixed: dict[str, Any] = {}
    for name, value in call.arguments.items():
        if name in PATH_ARGS and isinstance(value, str) and value.strip():
            fixed[name] = normalize_path(value, cwd)
        elif name in SIZE_ARGS:
            fixed[name] = normalize_size(value)
        elif name in AGE_ARGS:
            fixed[name] = normalize_age(value)
        else:
            fixed[name] = value
    return call if fixed == dict(call.arguments) else ToolCall(call.tool, fixed)
