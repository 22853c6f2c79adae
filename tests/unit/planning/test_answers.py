"""Answers held to the results: claims checked, commands dropped, a summary where none holds."""

from __future__ import annotations

from typing import Any

import pytest

from llmos_shell.planning.answers import (
    claim_free_reply,
    claims,
    grounded_answer,
    honest_limits,
    summarize,
)
from llmos_shell.registry import discover

LISTING: dict[str, Any] = {
    "path": "/home/alex/Downloads",
    "entries": [
        {"name": "ubuntu.iso", "type": "file", "size": 262_144_000, "size_human": "262.1 MB"},
        {"name": "notes.txt", "type": "file", "size": 2100, "size_human": "2.1 KB"},
        {"name": "photos", "type": "dir", "size": None, "size_human": ""},
    ],
}
PORTS = {"listening": [{"protocol": "tcp", "address": "0.0.0.0", "port": 22, "process": "sshd"}]}
DISK = {
    "mounts": [
        {
            "mountpoint": "/",
            "total_human": "270.6 GB",
            "free_human": "84.2 GB",
            "percent_used": 22.8,
        }
    ]
}


@pytest.mark.parametrize(
    ("answer", "results"),
    [
        ("The list is empty.", [PORTS]),  # a listening port is there
        ("The largest file is 12.6 MB.", [LISTING]),  # it is 262.1 MB
        ("Your files are in /opt/downloads/archive.", [LISTING]),  # an invented path
        ("You can also delete it using sudo rm -R -r Ubuntu.", [LISTING]),  # advice to run
        ("Your host is called BlueHost.", [DISK]),  # a name nothing mentions
        ("Run `rm -rf ~` to free space.", [DISK]),
    ],
)
def test_answers_the_results_contradict_are_not_shown(answer: str, results: list[Any]) -> None:
    assert grounded_answer(answer, results, "what's in downloads") is None


@pytest.mark.parametrize(
    ("answer", "results", "kept"),
    [
        (
            "The biggest is ubuntu.iso at 262.1 MB.",
            [LISTING],
            "The biggest is ubuntu.iso at 262.1 MB.",
        ),
        ("There are 3 entries.", [LISTING], "There are 3 entries."),  # a count of the rows
        ("84 GB are free on /.", [DISK], "84 GB are free on /."),  # 84.2 rounded
        ("sshd listens on port 22. The list is empty.", [PORTS], "sshd listens on port 22."),
    ],
)
def test_what_the_results_confirm_is_kept(answer: str, results: list[Any], kept: str) -> None:
    assert grounded_answer(answer, results, "show me") == kept


@pytest.mark.parametrize(
    "answer",
    [
        '```json {"path": "/home/alex/Downloads", "entries": [{"name": "ubuntu.iso"}]}```',
        '{"path": "/home/alex/Downloads"}',
        'Here it is: {"name": "ubuntu.iso", "size_human": "262.1 MB"} and more.',
    ],
)
def test_a_copy_of_the_result_as_json_is_no_answer(answer: str) -> None:
    assert grounded_answer(answer, [LISTING], "what's in downloads") is None


def test_an_answer_with_nothing_to_check_gives_way_to_the_summary() -> None:
    assert grounded_answer("Here you go, all done!", [LISTING], "list downloads") is None
    line = summarize([LISTING], "list downloads")
    assert line == "3 entries; the first: ubuntu.iso, 262.1 MB"
    assert summarize([DISK], "how much space is free") == "1 mount; the first: /, free 84.2 GB"
    assert summarize([{"free_human": "84.2 GB", "total_human": "270.6 GB"}], "free space?") == (
        "free 84.2 GB"
    )
    assert summarize([{"entries": []}], "list it") == "no entries"


def test_claims_are_numbers_paths_quotes_and_names() -> None:
    found = {
        (c.kind, c.text)
        for c in claims("Copy 'draft one' from ~/docs/a.txt, 12 files by JohnSmith")
    }
    assert ("path", "~/docs/a.txt") in found and ("number", "12") in found
    assert ("quoted", "draft one") in found and ("name", "JohnSmith") in found


def test_replies_without_tools_are_short_and_claim_free_or_an_honest_limit() -> None:
    assert (
        claim_free_reply("Hello! What would you like to do?") == "Hello! What would you like to do?"
    )
    assert claim_free_reply("Sure, I booked flight BA117 to Paris for 2 people.") is None
    assert claim_free_reply("Try sudo apt install flights.") is None
    registry = discover(None)
    sentence = honest_limits([registry.get("find_files"), registry.get("list_directory")])
    assert sentence.startswith("None of my tools can do that.")
    assert "(find_files)" in sentence and "llmos tools" in sentence
