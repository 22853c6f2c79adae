"""The person's names for things: read from their facts, found in requests by meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.memory.aliases import (
    about_the_person,
    aliases_from_fact,
    named_aliases,
    spell_out,
    states_a_fact,
)
from llmos_shell.memory.service import Memory
from llmos_shell.memory.store import LocalStore
from llmos_shell.retrieval.embeddings import shared_embedder
from llmos_shell.vocabulary.units import human_size, restate_sizes, size_unit_named


@pytest.mark.parametrize(
    ("fact", "phrase", "value", "kind"),
    [
        ("my projects are in ~/code", "my projects", "~/code", "place"),
        ("I keep the band photos under ~/Pictures/gigs", "the band photos", "~/Pictures/gigs", "place"),
        ("thesis: ~/uni/thesis", "thesis", "~/uni/thesis", "place"),
        ("~/code is where my projects live", "my projects", "~/code", "place"),
        ("the work laptop backups go to /mnt/backup/work", "the work laptop backups", "/mnt/backup/work", "place"),
        ("my editor is helix", "my editor", "helix", "program"),
        ("I prefer nano as my editor", "my editor", "nano", "program"),
        ("i prefer sizes in MB", "size unit", "MB", "preference"),
        ("show file sizes in gibibytes", "size unit", "GiB", "preference"),
    ],
)  # fmt: skip
def test_a_fact_names_a_place_a_program_or_a_preference(
    fact: str, phrase: str, value: str, kind: str
) -> None:
    (alias,) = aliases_from_fact(fact, "m-1")
    assert (alias.phrase, alias.value, alias.kind, alias.memory_id) == (phrase, value, kind, "m-1")


@pytest.mark.parametrize(
    "fact",
    [
        "the meeting is at 3",
        "i want to find files in ~/code",
        "moved ~/a to ~/b yesterday",
        "my editor is a mess of plugins",  # no single program name
        "sizes in MB or GB, whichever is shorter",  # two units: no one preference
    ],
)
def test_a_fact_that_names_nothing_gives_no_alias(fact: str) -> None:
    assert aliases_from_fact(fact) == []


ALIASES = [
    alias
    for number, fact in enumerate(
        [
            "I keep the band photos under ~/Pictures/gigs",
            "thesis: ~/uni/thesis",
            "~/code is where my projects live",
            "the work laptop backups go to /mnt/backup/work",
            "my tax papers are kept in ~/Documents/taxes",
            "my screenshots are saved to ~/Pictures/shots",
            "my editor is helix",
        ]
    )
    for alias in aliases_from_fact(fact, f"m-{number}")
]


@pytest.mark.parametrize(
    ("request_", "spelt"),
    [
        ("show me the concert pictures", "show me ~/Pictures/gigs"),
        ("find the pdfs in my dissertation", "find the pdfs in ~/uni/thesis"),
        ("list my coding projects", "list my coding projects (~/code)"),  # nothing widened
        ("how big is the backup of my work machine", "how big is /mnt/backup/work"),
        ("find pdf files in my tax documents", "find pdf files in ~/Documents/taxes"),
        ("list my thesis folder", "list ~/uni/thesis"),
        ("open notes.txt in my editor", "open notes.txt in helix"),
    ],
)
def test_a_request_names_an_alias_in_other_words(request_: str, spelt: str) -> None:
    found = named_aliases(request_, ALIASES, shared_embedder().embed)
    assert spell_out(request_, found) == spelt


@pytest.mark.parametrize(
    "request_",
    [
        "list my photos",  # the alias's general word: ~/Pictures, not the band photos
        "list my documents",  # a standard folder
        "list the files in Downloads",
        "how much disk space is free",
        "search ~/code for TODO",  # the path is written out already
    ],
)
def test_a_request_that_names_no_alias_is_left_as_it_is(request_: str) -> None:
    assert named_aliases(request_, ALIASES, shared_embedder().embed) == []


@pytest.mark.parametrize(
    ("request_", "states"),
    [
        ("my projects are in ~/code", True),
        ("i prefer sizes in MB", True),
        ("I keep the band photos under ~/Pictures/gigs", True),
        ("my editor is helix", True),
        ("i want to find files in ~/code", False),
        ("list my projects in ~/code", False),
        ("what is in ~/code?", False),
        ("forget where my projects are", False),
    ],
)
def test_a_statement_is_told_from_a_request(request_: str, states: bool) -> None:
    assert states_a_fact(request_) is states


@pytest.mark.parametrize(
    ("query", "general"),
    [
        ("me", True),
        ("what do you know about me?", True),
        ("everything", True),
        ("my projects", False),
        ("editor", False),
    ],
)
def test_a_question_about_the_person_as_a_whole(query: str, general: bool) -> None:
    assert about_the_person(query) is general


def test_a_size_preference_restates_every_size_written_for_people() -> None:
    unit = size_unit_named("MB")
    assert unit is not None and size_unit_named("b") is None and size_unit_named("bytes") is None
    data = {
        "mounts": [{"free": 71_783_300_000, "free_human": human_size(71_783_300_000)}],
        "size": 1500, "size_human": "1.5 KB",
        "uptime": 90, "uptime_human": "1 min",  # not a size: left alone
    }  # fmt: skip
    out = restate_sizes(data, unit)
    assert out["mounts"][0]["free_human"] == "71,783.3 MB"
    assert out["size_human"] == "0.0015 MB"
    assert out["uptime_human"] == "1 min"
    assert data["size_human"] == "1.5 KB"  # the result itself is not changed


@pytest.fixture
def memory(tmp_path: Path) -> Memory:
    store = LocalStore(tmp_path / "memory", shared_embedder())
    yield Memory(store)
    store.close()


def test_memory_knows_the_person_and_forgets_by_alias(memory: Memory) -> None:
    thesis = memory.remember("thesis: ~/uni/thesis")
    memory.remember("my editor is helix")
    memory.remember("i prefer sizes in GB")
    memory.remember("actually, i prefer sizes in MB")
    assert memory.preferences() == {"size_unit": "MB"}  # the later fact wins
    hits = memory.recall("what do you know about me?")
    about = memory.about_you("what do you know about me?", hits)
    assert about.startswith("actually, i prefer sizes in MB;") and "thesis: ~/uni/thesis" in about
    assert memory.about_you("my editor", memory.recall("my editor")) == ""
    # By the alias's meaning, not its words; by its value as the model may write it.
    assert memory.forget("where my dissertation is") == [thesis]
    assert [r.text for r in memory.forget("helix")] == ["my editor is helix"]


def test_plan_memory_names_the_fact_an_alias_came_from(memory: Memory) -> None:
    fact = memory.remember("I keep the band photos under ~/Pictures/gigs")
    planned = memory.for_plan("show me the concert pictures")
    assert planned.grounding == "show me ~/Pictures/gigs"
    assert fact.id in {r.id for r in planned.used}
    assert memory.for_plan("how much disk space is free").grounding == ""
