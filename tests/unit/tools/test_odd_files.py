"""File tools on what is not a plain file or a plain name: FIFOs, devices, sockets, NUL bytes,
lone surrogates, names too long, sizes too large, a current folder that was deleted.

Each answer is one sentence (a ToolError), at once: nothing blocks, nothing crashes. Calls go
through the executor with a time limit, so a call that blocked would fail the test instead of
hanging it.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.registry import discover
from llmos_shell.safety.executor import execute

TOOLS = discover(None)


def call(name: str, **arguments: Any) -> ToolResult:
    started = time.monotonic()
    result = execute(ToolCall(name, arguments), TOOLS.get(name), timeout_s=10)
    assert time.monotonic() - started < 8, f"{name} took too long: {result.error}"
    assert "failed unexpectedly" not in (result.error or ""), result.error
    return result


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_write_file_refuses_a_fifo_at_once(fifo: Path) -> None:
    for mode in ("overwrite", "append"):
        result = call("write_file", path=str(fifo), content="x", mode=mode)
        assert result.error == f"{fifo} is a FIFO (named pipe), not a regular file"


def test_write_file_refuses_a_device_before_opening_it() -> None:
    result = call("write_file", path="/dev/null", content="x")
    assert result.error == "/dev/null is a device, not a regular file"


def test_write_file_refuses_a_link_to_a_fifo(fifo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(fifo)
    assert "FIFO" in (call("write_file", path=str(link), content="x").error or "")


def test_read_and_search_leave_fifos_and_sockets_alone(fifo: Path, tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    (tmp_path / "note.txt").write_text("needle\n")
    try:
        assert "not a regular file" in (call("read_file", path=str(fifo)).error or "")
        assert "not a regular file" in (call("read_file", path=str(tmp_path / "sock")).error or "")
        found = call("search_text", pattern="needle", path=str(tmp_path))
        assert found.ok and [m["file"] for m in found.data["matches"]] == [
            str(tmp_path / "note.txt")
        ]
        assert "regular file" in (call("search_text", pattern="x", path=str(fifo)).error or "")
    finally:
        server.close()


def test_copy_refuses_a_fifo_and_copies_a_folder_holding_one_in_part(
    fifo: Path, tmp_path: Path
) -> None:
    result = call("copy_path", source=str(fifo), destination=str(tmp_path / "copy"))
    assert result.error == f"cannot copy {fifo}: it is a FIFO (named pipe), not a file or folder"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    os.mkfifo(folder / "pipe")
    copied = call("copy_path", source=str(folder), destination=str(tmp_path / "backup"))
    assert copied.error is not None and "only in part: 1 item(s) failed" in copied.error
    assert (tmp_path / "backup" / "a.txt").read_text() == "a"


def test_read_file_with_a_huge_max_bytes_allocates_nothing_up_front(tmp_path: Path) -> None:
    target = tmp_path / "small.txt"
    target.write_text("one\ntwo\n")
    for arguments in ({"max_bytes": 10**11}, {"max_bytes": 10**18, "head": 10**18}):
        result = call("read_file", path=str(target), **arguments)
        assert result.ok and result.data["content"] == "one\ntwo\n"


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("a\x00b", "holds a NUL byte"),
        ("\ud800.txt", "a lone surrogate"),
        ("x" * 300, "a name of 300 bytes; a file or folder name can be at most 255"),
        ("d/" * 2100, "paths can be at most 4095"),
    ],
)
@pytest.mark.parametrize("tool_name", ["list_directory", "read_file", "write_file", "disk_usage"])
def test_impossible_paths_are_one_sentence(tool_name: str, path: str, said: str) -> None:
    arguments: dict[str, Any] = {"path": path}
    if tool_name == "write_file":
        arguments["content"] = "x"
    result = call(tool_name, **arguments)
    assert result.error is not None and said in result.error


def test_content_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    result = call("write_file", path=str(tmp_path / "x.txt"), content="ok\ud800")
    assert result.error == (
        "the content cannot be written as UTF-8: character 2 is a lone surrogate"
    )
    assert not (tmp_path / "x.txt").exists()


def test_a_deleted_current_folder_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = tmp_path / "doomed"
    doomed.mkdir()
    monkeypatch.chdir(doomed)
    doomed.rmdir()
    result = call("list_directory", path="notes")
    assert result.error is not None and "the current folder no longer exists" in result.error
    assert call("list_directory", path=str(tmp_path)).ok  # absolute paths still work


def test_patterns_too_large_to_compile_are_one_sentence(tmp_path: Path) -> None:
    for pattern in ("a{99999999999}", "(" * 2000 + ")" * 2000):
        result = call("search_text", pattern=pattern, path=str(tmp_path), regex=True)
        assert result.error is not None and "is not a valid regular expression" in result.error


def test_a_command_with_a_lone_surrogate_is_one_sentence(tmp_path: Path) -> None:
    result = call("run_shell", command="echo \ud800", cwd=str(tmp_path))
    assert result.error == "the command cannot be passed to bash: character 5 is a lone surrogate"
