"""The answer check as it streams: what it shows is what the whole answer's check keeps."""

from __future__ import annotations

import random

import pytest

from llmos_shell.planning.answers import AnswerGate, grounded_answer
from llmos_shell.planning.headlines import GENERAL_KNOWLEDGE, knowledge_answer, knowledge_gate

LISTING = {
    "path": "/home/alex/Downloads",
    "entries": [
        {"name": "ubuntu.iso", "size_human": "262.1 MB"},
        {"name": "notes.txt", "size_human": "2.1 KB"},
        {"name": "photo.jpg", "size_human": "1.4 MB"},
    ],
}

ANSWERS = [
    "The biggest is ubuntu.iso at 262.1 MB. There are 3 entries.",
    "Here you go. The biggest is ubuntu.iso at 262.1 MB. The largest file is 12.6 MB.",
    "Your files are in /opt/downloads/archive. There are 3 entries.\nnotes.txt is 2.1 KB.",
    'There are 3 entries. ```json\n{"name": "ubuntu.iso"}\n``` And photo.jpg is 1.4 MB.',
    "Run `rm -rf ~` to free space. The biggest is ubuntu.iso.",
    "Here you go, all done!",
    "There are 3 entries. There are 3 entries. There are 3 entries.",
    "",
]


def chunks(text: str, rng: random.Random) -> list[str]:
    """`text` cut at random places, as a model's tokens cut it."""
    out, at = [], 0
    while at < len(text):
        step = rng.randint(1, 7)
        out.append(text[at : at + step])
        at += step
    return out


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streamed_text_is_exactly_what_the_whole_check_keeps(answer: str, seed: int) -> None:
    shown: list[str] = []
    gate = AnswerGate.grounded([LISTING], "what's in downloads", show=shown.append)
    for piece in chunks(answer, random.Random(seed)):
        gate.feed(piece)
        # Nothing shown is ever taken back: what is shown so far begins the final answer.
        assert (grounded_answer(answer, [LISTING], "what's in downloads") or "").startswith(
            "".join(shown)
        )
    gate.close()
    assert ("".join(shown) or None) == gate.answer
    assert gate.answer == grounded_answer(answer, [LISTING], "what's in downloads")


def test_a_sentence_is_shown_when_the_next_begins_not_at_the_end() -> None:
    shown: list[str] = []
    gate = AnswerGate.grounded([LISTING], "what's in downloads", show=shown.append)
    gate.feed("There are 3 entries. The big")
    assert shown == ["There are 3 entries."]
    gate.feed("gest is ubuntu.iso at 999 MB.")
    gate.close()
    assert shown == ["There are 3 entries."]  # the wrong size never shows


def test_sentences_without_claims_wait_for_one_that_the_results_confirm() -> None:
    shown: list[str] = []
    gate = AnswerGate.grounded([LISTING], "what's in downloads", show=shown.append)
    gate.feed("Here is what I found. ")
    assert shown == []
    gate.feed("It has 3 entries. A")
    assert shown == ["Here is what I found.", " It has 3 entries."]
    unsure: list[str] = []
    gate = AnswerGate.grounded([LISTING], "what's in downloads", show=unsure.append)
    gate.feed("Here is what I found. All done.")
    gate.close()
    assert unsure == [] and gate.answer is None


def test_the_head_shows_at_once_and_a_sentence_follows_only_with_something_new() -> None:
    shown: list[str] = []
    line = "3 entries; the first: ubuntu.iso"
    gate = AnswerGate.grounded([LISTING], "list", new_to=line, head=line, show=shown.append)
    gate.start()
    assert shown == [line]
    gate.feed("There are 3 entries. The first is ubuntu.iso. notes.txt is 2.1 KB. ")
    gate.close()
    assert "".join(shown) == gate.answer
    assert gate.answer == (
        f"{line}. There are 3 entries. The first is ubuntu.iso. notes.txt is 2.1 KB."
    )


@pytest.mark.parametrize("seed", [0, 3])
def test_a_knowledge_answer_streams_marked_and_drops_advice_to_run_commands(seed: int) -> None:
    text = (
        "A symlink is a file that points at another path. "
        "You can make one with `ln -s a b`. "
        "Deleting it leaves the target alone."
    )
    shown: list[str] = []
    gate = knowledge_gate(shown.append)
    for piece in chunks(text, random.Random(seed)):
        gate.feed(piece)
    gate.close()
    assert "".join(shown) == gate.answer == knowledge_answer("what is a symlink?", text)
    assert gate.answer == (
        f"{GENERAL_KNOWLEDGE} A symlink is a file that points at another path. "
        "Deleting it leaves the target alone."
    )


def test_a_knowledge_answer_stops_at_its_word_limit() -> None:
    from llmos_shell.planning.headlines import MAX_KNOWLEDGE_WORDS

    shown: list[str] = []
    gate = knowledge_gate(shown.append)
    for n in range(30):
        gate.feed(f"Sentence {n} has exactly seven words here. ")
    assert gate.ended  # the limit is reached while the model still writes
    gate.close()
    words = "".join(shown).removeprefix(GENERAL_KNOWLEDGE).split()
    assert len(words) == MAX_KNOWLEDGE_WORDS
