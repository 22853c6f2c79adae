"""Which requests build on the turn before them."""

from __future__ import annotations

import pytest

from llmos_shell.vocabulary.references import reads_as_follow_up


@pytest.mark.parametrize(
    "request_text",
    [
        "kill it",
        "and the pdfs?",
        "now the same in downloads",
        "delete those",
        "show me the second one",
        "what about the last month",
        "only the big ones",
        "sorted by memory",
        "undo that delete",
        "try again with sudo",
        "ok and how big is my videos folder",
        "copy it to the desktop",
    ],
)
def test_follow_ups(request_text: str) -> None:
    assert reads_as_follow_up(request_text)


@pytest.mark.parametrize(
    "request_text",
    [
        "sudo apt update",
        "whats in my downloads",
        "hey there",
        "cool, thanks",
        "kill sleep",
        "make a file called hello.txt that says hi",
        "note that the nas is mounted at /mnt/nas",
        "show me the last 100 lines of /var/log/syslog",
        "make a note that the printer is on the second floor",
        "rename scratch/a.txt to scratch/b.txt",
    ],
)
def test_requests_that_stand_alone(request_text: str) -> None:
    assert not reads_as_follow_up(request_text)
