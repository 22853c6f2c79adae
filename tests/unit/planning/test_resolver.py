"""The resolver against real things: a folder's entries, live processes, the turn before.

Each test writes the model's call as a small model wrote it (measured: the folder for the
file, the bare name, the tool's own noun as a filter) and checks the call the resolver
makes of it. Real files in the test's home, real processes, real tools from the registry.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import Risk, ToolCall
from llmos_shell.planning.resolver import Resolver, is_undo_request
from llmos_shell.registry import Registry, discover, tool
from llmos_shell.safety.footprint import footprint, footprint_line
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover(None)


@pytest.fixture
def home(isolated_dirs: Path) -> Path:
    downloads = isolated_dirs / "Downloads"
    downloads.mkdir()
    (isolated_dirs / "Documents").mkdir()
    for name, size in [
        ("ubuntu-24.04-desktop-amd64.iso", 6000),
        ("installer.deb", 300),
        ("recipe.txt", 20),
        ("boarding-pass-LHR.pdf", 100),
        ("notes.md", 5),
    ]:
        (downloads / name).write_bytes(b"x" * size)
    (isolated_dirs / "Documents" / "insurance_letter_2024.pdf").write_bytes(b"x")
    (isolated_dirs / "Documents" / "tax-return.pdf").write_bytes(b"x")
    return isolated_dirs


def resolve(
    registry: Registry, home: Path, name: str, args: dict[str, Any], request: str, **kw: Any
) -> Any:
    return Resolver(folder=str(home), **kw).resolve(
        ToolCall(name, args), registry.get(name), request
    )


def test_a_delete_of_the_folder_becomes_the_file_described(registry: Registry, home: Path) -> None:
    found = resolve(
        registry,
        home,
        "delete_path",
        {"path": "~/Downloads"},
        "get rid of the ubuntu iso in my downloads, its huge",
    )
    assert found.call.arguments == {"path": "~/Downloads/ubuntu-24.04-desktop-amd64.iso"}
    assert "the model wrote ~/Downloads" in found.notes[0]


def test_a_move_takes_the_file_not_the_folder(registry: Registry, home: Path) -> None:
    found = resolve(
        registry,
        home,
        "move_path",
        {"source": "~/Downloads", "destination": "~/Documents"},
        "move the recipe from downloads into documents",
    )
    assert found.call.arguments == {
        "source": "~/Downloads/recipe.txt",
        "destination": "~/Documents",
    }


@pytest.mark.parametrize(
    ("request_text", "written", "want"),
    [
        ("delet the installer.deb from my downloads", "installer.deb", "~/Downloads/installer.deb"),
        (
            "open my insurance letter in docments",
            "letter.pdf",
            "~/Documents/insurance_letter_2024.pdf",
        ),
        (
            "delete the boarding pass in downlods",
            "~/Downloads",
            "~/Downloads/boarding-pass-LHR.pdf",
        ),
    ],
)
def test_typos_and_descriptions_find_the_entry(
    registry: Registry, home: Path, request_text: str, written: str, want: str
) -> None:
    tool_name = "read_file" if request_text.startswith("open") else "delete_path"
    found = resolve(registry, home, tool_name, {"path": written}, request_text)
    assert found.call.arguments["path"] == want


def test_a_file_that_exists_as_written_is_kept(registry: Registry, home: Path) -> None:
    found = resolve(
        registry, home, "read_file", {"path": "~/Downloads/notes.md"}, "show ~/Downloads/notes.md"
    )
    assert found.call.arguments == {"path": "~/Downloads/notes.md"} and not found.notes


def test_several_fits_are_candidates_not_a_guess(registry: Registry, home: Path) -> None:
    found = resolve(
        registry, home, "delete_path", {"path": "~/Documents"}, "delete the pdf in my documents"
    )
    assert found.call is not None
    assert {c.value for c in found.candidates["path"]} == {
        "~/Documents/insurance_letter_2024.pdf",
        "~/Documents/tax-return.pdf",
    }


def test_a_listing_filtered_by_type_keeps_its_folder(registry: Registry, home: Path) -> None:
    found = resolve(
        registry, home, "list_directory", {"path": "~/Downloads"}, "list the pdfs in my downloads"
    )
    assert found.call.arguments == {"path": "~/Downloads"} and not found.candidates


def test_a_delete_that_drops_its_condition_is_not_planned(registry: Registry, home: Path) -> None:
    tmp = home / "Downloads" / "tmp"
    tmp.mkdir()
    (tmp / "a.log").write_bytes(b"x" * 2048)
    (tmp / "b.log").write_bytes(b"x" * 2048)
    found = resolve(
        registry,
        home,
        "delete_path",
        {"path": "~/Downloads/tmp"},
        "every night at 2 delete files older than 30 days in ~/Downloads/tmp",
    )
    assert found.call is None
    assert "older than 30d" in found.refusal and "2 items" in found.refusal


def test_the_tools_own_noun_is_no_filter(registry: Registry, home: Path) -> None:
    found = resolve(
        registry,
        home,
        "list_processes",
        {"sort_by": "memory", "name": "processes"},
        "which processes eat my memory?",
    )
    assert found.call.arguments == {"sort_by": "memory"}


def test_all_is_no_path(registry: Registry, home: Path) -> None:
    found = resolve(
        registry,
        home,
        "search_text",
        {"pattern": "ERROR", "path": "all"},
        "search for ERROR in all files under my home",
    )
    assert found.call.arguments["path"] == "~"


@tool(
    risk="write",
    examples=[("note that the boiler needs a check", {"text": "the boiler needs a check"})],
)
def add_note(text: str, priority: str = "low") -> dict[str, Any]:
    """Add a line to my notes file.

    Args:
        text: the note itself
        priority: how urgent it is
    """
    return {"saved": text}


@pytest.mark.parametrize(
    ("request_text", "written", "want"),
    [
        ("add a note: water the plants", "the boiler needs a check", "water the plants"),
        ("make a note that the car needs new tyres", "a:1234567890", "the car needs new tyres"),
        ("note that the boiler needs a check", "a:1234567890", "the boiler needs a check"),
    ],
)
def test_an_examples_text_is_never_the_argument(
    home: Path, request_text: str, written: str, want: str
) -> None:
    registry = Registry()
    registry.add(add_note, "plugin:notes.py")
    found = resolve(registry, home, "add_note", {"text": written}, request_text)
    assert found.call.arguments["text"] == want


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "1000"])
    yield proc
    proc.kill()
    proc.wait()


def test_the_sleep_1000_process_is_its_pid(registry: Registry, home: Path, sleeper: Any) -> None:
    other = subprocess.Popen(["sleep", "999"])
    try:
        found = resolve(
            registry,
            home,
            "kill_process",
            {"name": "sleep", "pid": 1000},
            "kill the sleep 1000 process",
        )
    finally:
        other.kill()
        other.wait()
    assert found.call.arguments == {"pid": sleeper.pid}
    assert "the model wrote 1000" in found.notes[0]


def test_a_server_is_found_by_its_port(registry: Registry, home: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, f"the server on port {port}", timeout_s=20)
        found = resolve(
            registry,
            home,
            "kill_process",
            {"name": "python"},
            f"stop the python server on port {port}",
        )
    finally:
        server.kill()
        server.wait()
    assert found.call.arguments == {"pid": server.pid}


LISTING = {
    "path": "/data",
    "entries": [
        {"name": "small.iso", "size": 5, "size_human": "5 B"},
        {"name": "big.iso", "size": 500, "size_human": "500 B"},
        {"name": "mid.iso", "size": 50, "size_human": "50 B"},
    ],
}


@pytest.mark.parametrize(
    ("request_text", "want"),
    [
        ("delete the biggest one", "/data/big.iso"),
        ("delete the second one", "/data/big.iso"),
        ("remove the mid one", "/data/mid.iso"),
    ],
)
def test_the_turn_before_gives_the_row(
    registry: Registry, home: Path, request_text: str, want: str
) -> None:
    found = Resolver(folder=str(home)).resolve(
        ToolCall("delete_path", {"path": "/data"}),
        registry.get("delete_path"),
        request_text,
        results=(LISTING,),
    )
    assert found.call.arguments == {"path": want}


def test_it_with_several_rows_asks_which(registry: Registry, home: Path) -> None:
    found = Resolver(folder=str(home)).resolve(
        ToolCall("delete_path", {"path": "/data"}),
        registry.get("delete_path"),
        "delete it",
        results=(LISTING,),
    )
    assert len(found.candidates["path"]) == 3


@pytest.mark.parametrize(
    ("text", "undo"),
    [
        ("oops, undo that", True),
        ("undo", True),
        ("take that back", True),
        ("whoops I didn't mean to do that", True),
        ("revert the last change please", True),
        ("how do I undo a git commit", False),
        ("undo the changes in main.py with git", False),
        ("put the book back on the shelf list", False),
    ],
)
def test_undo_phrasings(text: str, undo: bool) -> None:
    assert is_undo_request(text) is undo


def test_footprint_counts_everything_under_a_folder(tmp_path: Path, registry: Registry) -> None:
    folder = tmp_path / "box"
    (folder / "inner").mkdir(parents=True)
    (folder / "a").write_bytes(b"x" * 1000)
    (folder / "inner" / "b").write_bytes(b"x" * 500)
    assert footprint(folder) == (3, 1500)
    assert footprint(folder / "a") == (1, 1000)
    line = footprint_line(
        ToolCall("move_path", {"source": str(folder), "destination": "/x"}),
        registry.get("move_path"),
    )
    assert line == "this moves the whole folder box: 3 items, 1.5 KB"
    assert (
        footprint_line(
            ToolCall("delete_path", {"path": str(folder / "a")}), registry.get("delete_path")
        )
        is None
    )
    assert (
        footprint_line(
            ToolCall("list_directory", {"path": str(folder)}), registry.get("list_directory")
        )
        is None
    )


@tool(risk=Risk.DESTRUCTIVE, kinds={"where": "path"})
def shred_folder(where: str) -> dict[str, Any]:
    """Shred a folder (a plugin's tool)."""
    return {}


def test_a_plugins_tool_gets_the_same_footprint(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "x").write_bytes(b"x" * 10)
    line = footprint_line(ToolCall("shred_folder", {"where": str(tmp_path / "f")}), shred_folder)
    assert line is not None and line.startswith("this deletes the whole folder f: 1 item")


def test_nothing_resolves_outside_the_home_tree(registry: Registry, home: Path) -> None:
    assert not os.path.exists(home / "nowhere")
    found = resolve(registry, home, "list_directory", {"path": "."}, "what is in here")
    assert found.call.arguments == {"path": "."} and not found.notes


@pytest.mark.parametrize(
    ("args", "request_text", "dropped"),
    [
        (
            {"path": "~/Downloads/tmp"},
            "every night at 2 delete files older than 30 days in ~/Downloads/tmp",
            "older than 30d",
        ),
        ({"path": "~/Videos"}, "delete the videos bigger than 1gb in ~/Videos", "bigger than 1GB"),
    ],
)
def test_a_delete_that_drops_its_condition_is_not_planned_before_the_folder_exists(
    registry: Registry, home: Path, args: dict[str, Any], request_text: str, dropped: str
) -> None:
    """An automation is planned ahead of its folder: the condition still has to hold."""
    found = resolve(registry, home, "delete_path", args, request_text)
    assert found.call is None
    assert dropped in found.refusal and "all of" in found.refusal


def test_a_move_that_keeps_no_condition_of_the_request_is_planned(
    registry: Registry, home: Path
) -> None:
    found = resolve(
        registry,
        home,
        "move_path",
        {"source": "~/Downloads/recipe.txt", "destination": "~/Documents"},
        "move the recipe from downloads into documents",
    )
    assert found.call is not None
