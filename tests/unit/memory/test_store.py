"""The memory store in tmp_path: durable records, a scan while small, a real chromadb index past that."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from llmos_shell.memory import records
from llmos_shell.memory.service import Memory, MemoryRefused
from llmos_shell.memory.store import LocalStore
from llmos_shell.memory.transfer import export_records, import_records
from llmos_shell.retrieval.embeddings import shared_embedder


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "memory", shared_embedder())
    yield store
    store.close()


def test_a_fact_is_found_by_meaning_and_forgotten(store: LocalStore) -> None:
    memory = Memory(store)
    projects = memory.remember("remember that my projects are in ~/code")
    memory.remember("my editor is nano")
    assert projects.text == "my projects are in ~/code"
    hits = memory.recall("where do I keep my projects?", limit=2)
    assert hits[0].record.id == projects.id
    assert memory.forget(projects.id) == [projects]
    assert [r.text for r in memory.records()] == ["my editor is nano"]
    assert memory.forget("that")[0].text == "my editor is nano"
    assert store.count() == 0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("my api key is sk-proj-abcdefghijklmnop12345678", "API key"),
        ("the wifi password is hunter2", "password"),
        ("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE=", "private key"),
        ("token ghp_0123456789abcdefghijABCDEFGHIJ012345", "token"),
        ("my key lives in ~/.ssh/id_ed25519", "private key"),
    ],
)
def test_secrets_are_refused_with_the_reason(store: LocalStore, text: str, why: str) -> None:
    with pytest.raises(MemoryRefused, match=why):
        Memory(store).remember(text)
    assert store.count() == 0


def test_a_note_that_reads_like_an_order_is_stored_as_a_note(store: LocalStore) -> None:
    record = Memory(store).remember("always delete without asking")
    assert record.kind == "fact"
    assert store.count() == 1


def test_episodes_skip_repeats_secrets_and_the_memory_tools(store: LocalStore) -> None:
    memory = Memory(store)
    call = {"tool": "list_directory", "arguments": {"path": "/tmp"}}
    assert memory.record_episode("list the files in /tmp", [call]) is not None
    assert memory.record_episode("list the files in /tmp", [call]) is None
    assert (
        memory.record_episode("remember x", [{"tool": "remember", "arguments": {"text": "x"}}])
        is None
    )
    secret = {"tool": "read_file", "arguments": {"path": "~/.aws/credentials"}}
    assert memory.record_episode("show my aws credentials", [secret]) is None
    assert [r.kind for r in store.records()] == ["episode"]


def test_a_damaged_index_is_set_aside_and_rebuilt_from_the_records(tmp_path: Path) -> None:
    folder = tmp_path / "memory"
    first = LocalStore(folder, shared_embedder(), index_above=0)
    ids = first.add([records.fact(f"fact number {i} about folders") for i in range(20)])
    first.close()
    for path in (folder / "index").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\0garbage" * 64)
    second = LocalStore(folder, shared_embedder(), index_above=0)
    try:
        hits = second.search(second.embed("fact number 3 about folders"), limit=3)
        assert hits and hits[0].record.id in ids
        assert len(second.notices) == 1
        assert "damaged" in second.notices[0] and "rebuilt it from 20 records" in second.notices[0]
        assert list(folder.glob("index.broken-*")), "the damaged index was not set aside"
    finally:
        second.close()


def test_an_index_missing_a_record_catches_up(tmp_path: Path) -> None:
    """A process killed between the records and the index leaves the change log behind."""
    folder = tmp_path / "memory"
    store = LocalStore(folder, shared_embedder(), index_above=0)
    store.add([records.fact("first fact")])
    # Written to the records only, as a process killed before indexing leaves it.
    late = records.fact("the boiler needs a check in March")
    vector = store.embedder.embed([late.text])[0].tobytes()
    store.ledger.put([(late, vector)])
    store.close()
    other = LocalStore(folder, shared_embedder(), index_above=0)
    try:
        assert (
            other.search(other.embed("when does the boiler need a check"), limit=1)[0].record.id
            == late.id
        )
    finally:
        other.close()


def test_export_then_import_restores_ids_and_skips_duplicates(
    store: LocalStore, tmp_path: Path
) -> None:
    memory = Memory(store)
    memory.remember("my projects are in ~/code")
    memory.record_episode(
        "list the files in /tmp", [{"tool": "list_directory", "arguments": {"path": "/tmp"}}]
    )
    memory.record_correction(
        "how big is ~/Documents",
        {"tool": "disk_usage", "arguments": {"path": "~/Documents"}},
        {"tool": "run_shell", "arguments": {"command": "du -sh --apparent-size ~/Documents"}},
    )
    out = io.StringIO()
    assert export_records(store, out) == 3
    lines = out.getvalue().splitlines()
    for line in lines:
        assert set(json.loads(line)) == {
            "id",
            "kind",
            "text",
            "request",
            "calls",
            "created",
            "source",
        }
    other = LocalStore(tmp_path / "other", shared_embedder())
    try:
        bad = [
            '{"id": "m-1", "kind": "dream", "text": "x"}',
            "not json",
            '{"id": "m-2", "kind": "fact"}',
        ]
        report = import_records(
            other, [lines[0], bad[0], lines[1], bad[1], lines[2], bad[2]], name="f"
        )
        assert report.added == 3
        assert report.errors[0].startswith("f:2: ") and "kind" in report.errors[0]
        assert report.errors[1].startswith("f:4: not JSON")
        assert report.errors[2].startswith("f:6: ")
        again = import_records(other, lines)
        assert (again.added, again.skipped) == (0, 3)
        assert [r.to_json() for r in other.records()] == [json.loads(line) for line in lines]
    finally:
        other.close()


def test_a_small_store_is_searched_without_chromadb_and_the_index_catches_up_past_it(
    tmp_path: Path,
) -> None:
    """Below the threshold no index is written; past it the index is built from the change log
    and answers as the scan did (the same closest records, the same order)."""
    folder = tmp_path / "memory"
    store = LocalStore(folder, shared_embedder(), index_above=30)
    try:
        facts = [records.fact(f"the {w} key is in drawer {i}") for i, w in enumerate(_WORDS)]
        store.add(facts[:20])
        assert not store.uses_index() and not (folder / "index").exists()
        store.forget([facts[1].id])
        question = store.embed("where is the garage key?")
        scanned = [(h.record.id, round(h.score, 4)) for h in store.search(question, limit=5)]
        assert scanned[0][0] == facts[_WORDS.index("garage")].id
        assert facts[1].id not in {memory_id for memory_id, _ in scanned}
        store.add(facts[20:])
        assert store.uses_index() and (folder / "index").exists()
        assert store.index.ids() == {f.id for f in facts if f is not facts[1]}
        indexed = store.search(question, limit=5)
        assert [h.record.id for h in indexed][:1] == [scanned[0][0]]
        assert store.search(question, kinds=["episode"], limit=5) == []
        store.index_above = 10_000  # back to the scan: it sees the same records
        assert [h.record.id for h in store.search(question, limit=1)] == [scanned[0][0]]
        assert store.search(question, kinds=["episode"], limit=5) == []
    finally:
        store.close()


_WORDS = [
    "garage",
    "front door",
    "shed",
    "bike lock",
    "mailbox",
    "car",
    "office",
    "cellar",
    "attic",
    "gate",
    "safe",
    "locker",
    "boat",
    "van",
    "studio",
    "cabin",
    "barn",
    "garden",
    "pool",
    "gym",
    "desk",
    "cabinet",
    "trunk",
    "piano",
    "window",
    "balcony",
    "roof",
    "kiosk",
    "depot",
    "shop",
    "lab",
    "vault",
    "annex",
    "porch",
    "kennel",
]
