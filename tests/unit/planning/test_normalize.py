"""Tidying paths, sizes and ages the model wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.calls import ToolCall
from llmos_shell.planning.normalize import (
    normalize_age,
    normalize_arguments,
    normalize_path,
    normalize_size,
)
from llmos_shell.registry.kinds import Kind
from llmos_shell.vocabulary.units import parse_age, parse_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("here", "."),
        ("this folder", "."),
        ("my home", "~"),
        ("$HOME/notes", "~/notes"),
        ("my downloads", "~/Downloads"),
        ("Downloads folder", "~/Downloads"),
        ("src", "src"),
        ("/etc", "/etc"),
    ],
)
def test_normalize_path(value: str, expected: str, tmp_path: Path) -> None:
    assert normalize_path(value, cwd=tmp_path) == expected


def test_a_known_folder_beside_you_is_kept(tmp_path: Path) -> None:
    (tmp_path / "Downloads").mkdir()
    assert normalize_path("Downloads", cwd=tmp_path) == "Downloads"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10 megs", "10MB"), ("1 gig", "1GB"), ("2.5 GB", "2.5GB"), ("500k", "500K"), ("big", "big")],
)
def test_normalize_size(value: str, expected: str) -> None:
    assert normalize_size(value) == expected
    if expected != "big":
        assert parse_size(expected) == parse_size(value)  # the tool reads both the same


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("last week", "1w"),
        ("3 hours", "3h"),
        ("past 2 days", "2d"),
        ("7 days ago", "7d"),
        ("this month", "30d"),
        ("30 minutes", "30m"),
        ("yesterday", "yesterday"),
    ],
)
def test_normalize_age(value: str, expected: str) -> None:
    assert normalize_age(value) == expected
    parse_age(expected)  # every output is one the tools read


def test_normalize_arguments_touches_only_known_kinds(tmp_path: Path) -> None:
    kinds = {"path": Kind.PATH, "min_size": Kind.SIZE, "name": Kind.GLOB}
    call = ToolCall("find_files", {"path": "here", "min_size": "10 megs", "name": "here"})
    fixed = normalize_arguments(call, kinds, cwd=tmp_path)
    assert fixed.arguments == {"path": ".", "min_size": "10MB", "name": "here"}
    same = ToolCall("find_files", {"path": "."})
    assert normalize_arguments(same, kinds, cwd=tmp_path) is same
    # A plugin's argument is tidied by the kind it declares, whatever its name.
    other = ToolCall("backup", {"where_to": "my downloads", "biggest": "2 gigs"})
    tidied = normalize_arguments(other, {"where_to": Kind.PATH, "biggest": Kind.SIZE}, tmp_path)
    assert tidied.arguments == {"where_to": "~/Downloads", "biggest": "2GB"}
