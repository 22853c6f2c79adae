"""Sizes and ages read and written in one way; the tools' paths and OS errors."""

from __future__ import annotations

import errno
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from llmos_shell.errors import InvalidValueError, ToolError
from llmos_shell.vocabulary.units import cutoff_timestamp, human_size, parse_age, parse_size
from llmos_tools._parsing import os_error, resolve_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10MB", 10_000_000),
        ("10 mb", 10_000_000),
        ("10M", 10 * 1024**2),
        ("1.5 GiB", int(1.5 * 1024**3)),
        ("1.5GB", 1_500_000_000),
        ("500k", 500 * 1024),
        ("500KB", 500_000),
        ("2KiB", 2048),
        ("2048", 2048),
        ("3 bytes", 3),
        ("7b", 7),
        ("1T", 1024**4),
        (".5k", 512),
        (4096, 4096),
    ],
)
def test_parse_size_reads_human_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["ten MB", "10 XB", "", "MB", "-5MB", "1.2.3k"])
def test_parse_size_rejects_nonsense_naming_value_and_example(bad: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_size(bad)
    message = str(caught.value)
    assert repr(bad) in message
    assert "10MB" in message


def test_invalid_value_is_both_a_tool_error_and_a_value_error() -> None:
    with pytest.raises(ToolError):
        parse_size("huge")
    with pytest.raises(ValueError):
        parse_age("whenever")


def test_parse_size_rejects_negative_numbers() -> None:
    with pytest.raises(InvalidValueError, match="negative"):
        parse_size(-1)


@pytest.mark.parametrize(
    ("num", "expected"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1500, "1.5 KB"),
        (999_999, "1 MB"),
        (1_000_000, "1 MB"),
        (15_300_000, "15.3 MB"),
        (1_500_000_000, "1.5 GB"),
        (2 * 10**15, "2 PB"),
        (-1500, "-1.5 KB"),
    ],
)
def test_human_size(num: int, expected: str) -> None:
    assert human_size(num) == expected


def test_human_size_round_trips_through_parse_size() -> None:
    for num in (1_500, 2_300_000, 7_100_000_000):
        assert parse_size(human_size(num)) == num


NOW = datetime(2024, 6, 15, 14, 30, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("2w", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2 hours", timedelta(hours=2)),
        ("1.5h", timedelta(minutes=90)),
        ("3 days ago", timedelta(days=3)),
        ("last week", timedelta(weeks=1)),
        ("past 3 days", timedelta(days=3)),
        ("Last Month", timedelta(days=30)),
        ("a day", timedelta(days=1)),
        ("an hour", timedelta(hours=1)),
        ("1 year", timedelta(days=365)),
    ],
)
def test_parse_age_spans(text: str, expected: timedelta) -> None:
    assert parse_age(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday", datetime(2024, 6, 14)),
        ("today", datetime(2024, 6, 15)),
        ("2024-05-01", datetime(2024, 5, 1)),
        ("2024-05-01T10:30:00", datetime(2024, 5, 1, 10, 30)),
        ("2024-05-01 10:30", datetime(2024, 5, 1, 10, 30)),
    ],
)
def test_parse_age_moments(text: str, expected: datetime) -> None:
    assert parse_age(text, NOW) == expected


def test_parse_age_converts_aware_iso_times_to_local_naive() -> None:
    moment = parse_age("2024-05-01T10:30:00Z", NOW)
    assert isinstance(moment, datetime)
    assert moment.tzinfo is None
    assert moment.timestamp() == datetime.fromisoformat("2024-05-01T10:30:00+00:00").timestamp()


@pytest.mark.parametrize("bad", ["soonish", "7 parsecs", "", "2024-13-45"])
def test_parse_age_rejects_nonsense(bad: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_age(bad, NOW)
    assert repr(bad) in str(caught.value)
    assert "7d" in str(caught.value)


def test_cutoff_timestamp_for_spans_and_moments() -> None:
    assert cutoff_timestamp("2d", NOW) == (NOW - timedelta(days=2)).timestamp()
    assert cutoff_timestamp("yesterday", NOW) == datetime(2024, 6, 14).timestamp()


def test_resolve_path_expands_home_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    assert resolve_path("~") == home
    assert resolve_path("~/Documents/a.txt") == home / "Documents" / "a.txt"
    assert resolve_path("notes.txt") == work / "notes.txt"
    assert resolve_path("../home/x") == home / "x"
    assert resolve_path("  /etc/hosts ") == Path("/etc/hosts")


def test_resolve_path_does_not_follow_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    assert resolve_path(str(link)) == link


def test_resolve_path_rejects_empty() -> None:
    with pytest.raises(InvalidValueError, match="empty"):
        resolve_path("  ")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOENT, "does not exist"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EIO, os.strerror(errno.EIO)),
    ],
)
def test_os_error_sentences(code: int, words: str) -> None:
    error = os_error(OSError(code, os.strerror(code)), Path("/x/y"), "read")
    assert isinstance(error, ToolError)
    assert str(error).startswith("cannot read /x/y: ")
    assert words in str(error)


def test_sizes_and_dates_past_what_numbers_hold_are_one_sentence() -> None:
    """Found by bench/fuzz_tools.py: an infinite size, an aware time before year 1."""
    with pytest.raises(InvalidValueError, match="too large to be a size"):
        parse_size("9" * 400 + "PB")
    with pytest.raises(InvalidValueError, match="further back than a date can go"):
        parse_age("0001-01-01T00:00:00+14:00")
