"""Parsers shared by the built-in tools: human sizes, human ages, paths, OS errors."""

from __future__ import annotations

import errno
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from llmos_shell.errors import ToolError


class InvalidValueError(ToolError, ValueError):
    """A value the model or the user wrote that cannot be parsed; the message shows a good one."""


# GNU coreutils' convention: K, M, G, KiB... are powers of 1024; KB, MB, GB... powers of 1000.
_SIZE_UNITS: dict[str, int] = {"": 1, "b": 1, "byte": 1, "bytes": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _SIZE_UNITS[_letter] = 1024**_power
    _SIZE_UNITS[f"{_letter}ib"] = 1024**_power
    _SIZE_UNITS[f"{_letter}b"] = 1000**_power
# Words people type: "10 megs", "2 gigabytes" (decimal, like MB and GB).
for _power, _words in enumerate(
    (("kilobyte",), ("meg", "megabyte"), ("gig", "gigabyte"), ("terabyte",)), start=1
):
    for _word in _words:
        _SIZE_UNITS[_word] = _SIZE_UNITS[f"{_word}s"] = 1000**_power
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(text: str | int | float) -> int:
    """Bytes in a human size: "10MB" (10**7), "1.5 GiB", "500k" (500 * 1024), "2048"."""
    if isinstance(text, bool):
        raise InvalidValueError(f"size {text!r} is not a size; write one like '10MB' or '500k'")
    if isinstance(text, (int, float)):
        if text < 0:
            raise InvalidValueError(f"size {text!r} is negative; write one like '10MB' or '500k'")
        return int(text)
    match = _SIZE_RE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise InvalidValueError(
            f"cannot read {text!r} as a size; write one like '10MB', '1.5 GiB', '500k' or '2048'"
        )
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def human_size(num_bytes: int | float) -> str:
    """A byte count for people, in powers of 1000: 1500000 -> "1.5 MB"."""
    value = float(num_bytes)
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 1000:
        return f"{sign}{int(value)} B"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.95 or unit == "PB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{sign}{text} {unit}"
    raise AssertionError("unreachable")


_AGE_UNITS: dict[str, timedelta] = {}
for _names, _delta in (
    (("s", "sec", "secs", "second", "seconds"), timedelta(seconds=1)),
    (("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    (("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    (("d", "day", "days"), timedelta(days=1)),
    (("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
    (("mo", "mon", "month", "months"), timedelta(days=30)),
    (("y", "yr", "yrs", "year", "years"), timedelta(days=365)),
):
    for _name in _names:
        _AGE_UNITS[_name] = _delta
_AGE_RE = re.compile(r"^(?:last\s+|past\s+)?(\d+(?:\.\d*)?|an?|one)?\s*([a-z]+?)(?:\s+ago)?$")
_AGE_EXAMPLE = "'7d', '24h', '2 weeks', 'last week', 'yesterday' or '2024-05-01'"


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
    match = _AGE_RE.match(cleaned)
    if match and match.group(2) in _AGE_UNITS:
        count_text = match.group(1)
        count = 1.0 if count_text in (None, "a", "an", "one") else float(count_text)
        return _AGE_UNITS[match.group(2)] * count
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValueError(
            f"cannot read {text!r} as a time; write one like {_AGE_EXAMPLE}"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment


def cutoff_timestamp(text: str, now: datetime | None = None) -> float:
    """The POSIX time that an age names: now minus a span, or the moment itself."""
    now = now or datetime.now()
    age = parse_age(text, now)
    moment = now - age if isinstance(age, timedelta) else age
    return moment.timestamp()


def resolve_path(text: str) -> Path:
    """An absolute path from what was written: `~` expanded, relative to the current directory.

    Symlinks are not followed, so a link is named, not the file it points to.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidValueError("the path is empty; give one such as '~/Documents' or 'notes.txt'")
    return Path(os.path.abspath(os.path.expanduser(text.strip())))


def format_time(timestamp: float) -> str:
    """A POSIX time as local 'YYYY-MM-DD HH:MM', short enough for a listing."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def os_error(exc: OSError, path: Path | str, action: str) -> ToolError:
    """A model-facing sentence for an OSError met while doing `action` ("read", "list") on path."""
    code = exc.errno
    if code == errno.ENOENT:
        return ToolError(f"cannot {action} {path}: it does not exist")
    if code in (errno.EACCES, errno.EPERM):
        return ToolError(f"cannot {action} {path}: permission denied")
    if code == errno.ENOTDIR:
        return ToolError(f"cannot {action} {path}: a part of the path is not a directory")
    if code == errno.EISDIR:
        return ToolError(f"cannot {action} {path}: it is a directory")
    if code == errno.ENOSPC:
        return ToolError(f"cannot {action} {path}: the disk is full")
    if code == errno.EROFS:
        return ToolError(f"cannot {action} {path}: the file system is read-only")
    if code == errno.ENOTEMPTY:
        return ToolError(f"cannot {action} {path}: the directory is not empty")
    reason = exc.strerror or str(exc)
    return ToolError(f"cannot {action} {path}: {reason}")
