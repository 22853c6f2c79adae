"""Answers that answer: each built-in tool's headline, filled from a real result.

The tools run for real here (a disk, a log file, a sleeping process); the headline must
state the asked value, and only values the result holds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.calls import ToolCall
from llmos_shell.planning.headlines import headline, result_answer
from llmos_shell.registry import Registry, discover, tool


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover(None)


def run(registry: Registry, name: str, args: dict[str, Any]) -> tuple[ToolCall, Any]:
    call = ToolCall(name, args)
    return call, registry.get(name).invoke(args)


def test_every_built_in_tool_has_a_headline(registry: Registry) -> None:
    assert [t.name for t in registry if not t.headline] == []
    # ... and one for any request: a template that no word and no argument holds back.
    assert [t.name for t in registry if not any(not words for words, _ in t.headline)] == []


def test_a_commands_one_line_output_is_the_answer_and_several_lines_are_not(
    registry: Registry, tmp_path: Path
) -> None:
    tools = {"run_shell": registry.get("run_shell")}
    call, data = run(registry, "run_shell", {"command": "echo 3", "cwd": str(tmp_path)})
    assert result_answer([(call, data)], tools, None, "how many") == "echo 3 printed: 3"
    call, data = run(registry, "run_shell", {"command": "printf 'a\\nb\\n'", "cwd": str(tmp_path)})
    assert result_answer([(call, data)], tools, None, "list") == (
        "exit code 0 from printf 'a\\nb\\n'"
    )


def test_my_ip_is_the_address_of_an_interface_that_is_up(registry: Registry) -> None:
    call, data = run(registry, "network_info", {"include_ports": False})
    line = headline(registry.get("network_info"), call, data, "what's my ip address")
    if "address" not in data:  # a machine with no network but the loopback
        assert line is not None and "network interfaces" in line
        return
    assert (
        line
        == f"{data['hostname']} has the address {data['address']} on {data['address_interface']}"
    )
    assert not data["address"].startswith("127.")


def test_free_space_by_default_and_used_space_when_asked(registry: Registry) -> None:
    call, data = run(registry, "disk_usage", {})
    first = data["mounts"][0]
    free = headline(registry.get("disk_usage"), call, data, "how much space is left on my disk")
    assert free == f"{first['mountpoint']} has {first['free_human']} free of {first['total_human']}"
    used = headline(registry.get("disk_usage"), call, data, "how much of the disk is used")
    assert used is not None and used.startswith(
        f"{first['mountpoint']} has {first['used_human']} used"
    )


def test_search_states_the_count_and_the_first_line(registry: Registry, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join("ok\n" if i != 18 and i % 7 else "ERROR boom\n" for i in range(40)))
    call, data = run(registry, "search_text", {"pattern": "ERROR", "path": str(log)})
    line = headline(registry.get("search_text"), call, data, "any errors in my app log?")
    assert line == f"{data['count']} lines match ERROR in {log}; the first at line 1 of {log}"


def test_a_kill_names_the_process_it_stopped(registry: Registry) -> None:
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        call, data = run(registry, "kill_process", {"pid": sleeper.pid})
    finally:
        sleeper.kill()
        sleeper.wait()
    line = headline(registry.get("kill_process"), call, data, "kill the sleep 1000 process")
    assert line == f"stopped sleep (pid {sleeper.pid}) with TERM"


def test_most_memory_is_said_only_of_a_listing_sorted_by_memory(registry: Registry) -> None:
    call, data = run(registry, "list_processes", {"sort_by": "memory", "limit": 5})
    line = headline(registry.get("list_processes"), call, data, "which processes eat my memory?")
    first = data["processes"][0]
    assert line is not None and line.startswith(
        f"{first['name']} (pid {first['pid']}) uses the most memory"
    )
    call, data = run(registry, "list_processes", {"sort_by": "pid", "limit": 5})
    line = headline(registry.get("list_processes"), call, data, "which processes eat my memory?")
    assert line is not None and "most memory" not in line


@tool(risk="write", headline="saved to {saved_to}")
def add_note(text: str) -> dict[str, Any]:
    """Add a line to my notes file."""
    return {"saved_to": "/notes.txt"}


@tool(risk="write")
def add_plain(text: str) -> dict[str, Any]:
    """A plugin tool with no headline."""
    return {"saved_to": "/plain.txt"}


def test_a_plugins_headline_and_the_generic_fallback() -> None:
    call = ToolCall("add_note", {"text": "x"})
    tools = {"add_note": add_note, "add_plain": add_plain}
    assert (
        result_answer([(call, {"saved_to": "/notes.txt"})], tools, None, "note x")
        == "saved to /notes.txt"
    )
    plain = result_answer(
        [(ToolCall("add_plain", {"text": "x"}), {"saved_to": "/plain.txt"})], tools, None, "x"
    )
    assert plain is not None and "/plain.txt" in plain


def test_the_models_sentence_is_kept_only_when_true_and_new(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    call, data = run(registry, "read_file", {"path": str(tmp_path / "a.txt")})
    tools = {"read_file": registry.get("read_file")}
    line = f"{tmp_path / 'a.txt'}: 1 lines, 6 B"
    assert result_answer([(call, data)], tools, "The file is 99 lines long.", "read a.txt") == line
    kept = result_answer([(call, data)], tools, "It says hello.", "read a.txt")
    assert kept == line  # nothing checkable that the headline lacks: the headline alone


@pytest.mark.parametrize(
    ("request_text", "kept"),
    [
        ("what is a symlink?", True),
        ("explain what a zombie process is", True),
        ("what is in my downloads?", False),
        ("what is using my memory", False),
        ("what's in ~/notes.txt", False),
    ],
)
def test_a_knowledge_question_gets_the_models_answer_marked(request_text: str, kept: bool) -> None:
    from llmos_shell.planning.headlines import GENERAL_KNOWLEDGE, knowledge_answer

    text = "A link that points at another path."
    said = knowledge_answer(request_text, text)
    assert (said == f"{GENERAL_KNOWLEDGE} {text}") if kept else said is None


def test_a_cut_off_knowledge_answer_is_not_shown_as_one() -> None:
    from llmos_shell.planning.headlines import knowledge_answer

    assert knowledge_answer("what does chmod 755 mean", "The") is None
