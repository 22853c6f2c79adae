"""Reading the values a request states outright, and filling them into calls."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from llmos_shell.calls import Risk, ToolCall
from llmos_shell.planning.slots import extract, fill_arguments
from llmos_shell.registry import Registry, discover, tool


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return discover(tmp_path_factory.mktemp("plugins"))


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("files bigger than 10 megs in downloads", {"paths": ["~/Downloads"], "min_size": "10MB"}),
        ("tiny files under 1kb in /tmp", {"paths": ["/tmp"], "max_size": "1KB"}),
        ("between 100mb and 500mb in ~/Videos", {"min_size": "100MB", "max_size": "500MB"}),
        ("stuff in ~/Downloads i havent touched in 6 months", {"modified_before": "180d"}),
        ("what did i change in the last 3 hours", {"modified_within": "3h"}),
        ("pdfs from last week", {"modified_within": "7d", "glob": "*.pdf"}),
        ("find . -name '*.py'", {"paths": ["."], "glob": "*.py"}),
        ("whats in my dwonloads", {"paths": ["~/Downloads"]}),
        ("the last 100 lines of /var/log/syslog", {"count": 100, "count_kind": "last"}),
        ("kill -9 8812", {"pid": 8812, "choices": ["kill"]}),
        ("grep -i error here", {"paths": ["."], "flags": {"case"}}),
        ("echo 'ok' >> log.txt", {"choices": ["append"], "quoted": ["ok"]}),
        ("sort this folder by size", {"paths": ["."], "choices": ["size"]}),
        ("ls -la ~/projects", {"flags": {"hidden"}}),
    ],
)
def test_extract_reads_stated_values(request_text: str, expected: dict[str, object]) -> None:
    slots = extract(request_text)
    for name, value in expected.items():
        assert getattr(slots, name) == value, name


def test_extract_invents_nothing_for_a_plain_request() -> None:
    slots = extract("how much disk space is free")
    assert slots.paths == [] and slots.min_size is None and slots.glob is None
    assert slots.count is None and slots.pid is None and not slots.flags and not slots.choices


def test_fill_adds_what_the_model_left_out(registry: Registry) -> None:
    tool = registry.get("find_files")
    call = ToolCall("find_files", {"path": "~/Downloads"})
    filled = fill_arguments(call, tool, "files bigger than 10 megs in downloads")
    assert filled.arguments == {"path": "~/Downloads", "min_size": "10MB"}


def test_fill_replaces_a_value_the_request_does_not_support(registry: Registry) -> None:
    tool = registry.get("list_directory")
    call = ToolCall("list_directory", {"path": "~/Desktop"})  # copied from an example
    assert fill_arguments(call, tool, "ls -la ~/projects").arguments == {
        "path": "~/projects",
        "show_hidden": True,
    }


def test_fill_keeps_grounded_values_and_respects_enums(registry: Registry) -> None:
    tool = registry.get("list_processes")
    call = ToolCall("list_processes", {"name": "firefox"})
    filled = fill_arguments(call, tool, "is firefox using a lot of memory")
    assert filled.arguments == {"name": "firefox", "sort_by": "memory"}
    tool = registry.get("list_directory")
    filled = fill_arguments(ToolCall("list_directory", {}), tool, "sort by cpu")
    assert "sort_by" not in filled.arguments  # list_directory cannot sort by cpu


def test_fill_orders_source_and_destination(registry: Registry) -> None:
    tool = registry.get("copy_path")
    call = ToolCall("copy_path", {"source": "report.pdf", "destination": "~/Desktop"})
    filled = fill_arguments(call, tool, "cp ~/Documents/taxes.pdf /media/usb")
    assert filled.arguments == {"source": "~/Documents/taxes.pdf", "destination": "/media/usb"}


def test_fill_leaves_a_call_alone_when_nothing_is_stated(
    tmp_path: Path, registry: Registry
) -> None:
    tool = registry.get("disk_usage")
    call = ToolCall("disk_usage", {})
    assert fill_arguments(call, tool, "am i out of space") is call


def test_fill_keeps_a_path_the_model_spelled_out(registry: Registry) -> None:
    tool = registry.get("write_file")
    call = ToolCall("write_file", {"path": "/home/alex/notes/hello.txt", "content": "hi"})
    assert fill_arguments(call, tool, "write hi to notes/hello.txt") is call


def test_a_forced_kill_needs_words_that_ask_for_it(registry: Registry) -> None:
    tool = registry.get("kill_process")
    call = ToolCall("kill_process", {"name": "firefox", "signal": "KILL"})
    assert fill_arguments(call, tool, "kill firefox").arguments == {"name": "firefox"}
    assert fill_arguments(call, tool, "firefox froze, force quit it") is call


@pytest.mark.parametrize(
    ("tool", "written", "request_text", "expected"),
    [
        ("list_directory", {"path": "/projects"}, "ls ~/projects", {"path": "~/projects"}),
        ("list_directory", {"path": "."}, "list everything in /etc", {"path": "/etc"}),
        ("list_processes", {}, "ps aux | grep node", {"name": "node"}),
        (
            "kill_process",
            {"pid": 9, "signal": "KILL"},
            "killall -9 java",
            {"name": "java", "signal": "KILL"},
        ),
        (
            "write_file",
            {"path": "~/.bashrc", "content": "Hello", "mode": "append"},
            "append 'export EDITOR=vim' to my bashrc",
            {"path": "~/.bashrc", "content": "export EDITOR=vim\n", "mode": "append"},
        ),
    ],
)
def test_fill_corrects_what_the_request_contradicts(
    registry: Registry,
    tool: str,
    written: dict[str, object],
    request_text: str,
    expected: dict[str, object],
) -> None:
    tool = registry.get(tool)
    assert fill_arguments(ToolCall(tool, written), tool, request_text).arguments == expected


def test_a_plugin_tool_is_filled_by_the_kinds_it_declares() -> None:
    from llmos_shell.registry import tool as make_tool

    @make_tool(kinds={"where": "path", "at_least": "size", "how_many": "count"})
    def archive_big_files(where: str = ".", at_least: str = "1MB", how_many: int = 10) -> str:
        """Archive the biggest files of a folder."""
        return where

    call = ToolCall("archive_big_files", {})
    filled = fill_arguments(
        call, archive_big_files, "archive the top 3 files over 2 gigs in downloads"
    )
    assert filled.arguments == {"where": "~/Downloads", "at_least": "2GB", "how_many": 3}


def test_a_follow_up_naming_a_new_place_gets_it_where_the_old_one_was() -> None:
    from llmos_shell.planning.grounding import restate_places

    before = ToolCall("run_shell", {"command": "du -sh ~/Documents"})
    planned = ToolCall("run_shell", {"command": "du -sh --apparent-size ~/Documents"})
    moved = restate_places(planned, "the same for Downloads", before, "how big is ~/Documents")
    assert moved.arguments == {"command": "du -sh --apparent-size ~/Downloads"}
    find = ToolCall("find_files", {"path": "~/Downloads", "name": "*.zip"})
    again = restate_places(find, "and on the desktop?", find, "any zip files in my downloads?")
    assert again.arguments == {"path": "~/Desktop", "name": "*.zip"}
    # A request that names no new place, or keeps the old one, changes nothing.
    assert restate_places(find, "and the pdfs?", find, "zips in my downloads") is find


@tool(risk=Risk.WRITE)
def set_light(
    room: str,
    state: Literal["on", "off"] | None = None,
    color: Literal["warm white", "cool white", "red"] | None = None,
) -> dict[str, str]:
    """Switch a room's lights (a plugin's tool, with enum arguments)."""
    return {"room": room}


def _lights() -> Registry:
    registry = Registry()
    registry.add(set_light, source="test")
    return registry


@pytest.mark.parametrize(
    ("request_text", "written", "expected"),
    [
        ("kitchen lights off", {"room": "kitchen"}, {"room": "kitchen", "state": "off"}),
        ("make the hall warm white", {"room": "hall"}, {"room": "hall", "color": "warm white"}),
        (
            "turn on the lights in the hallway",
            {"room": "hallway", "state": "off"},
            {"room": "hallway", "state": "on"},
        ),
        # two values named: which one is meant is not for a rule to say
        ("switch red to cool white in the den", {"room": "den"}, {"room": "den"}),
    ],
)
def test_an_enum_value_the_request_names_is_filled_in(
    request_text: str, written: dict[str, str], expected: dict[str, str]
) -> None:
    tool = _lights().get("set_light")
    assert fill_arguments(ToolCall("set_light", written), tool, request_text).arguments == expected
