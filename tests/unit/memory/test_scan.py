"""The scan of stored vectors: exact, in step with every change, kept across processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmos_shell.memory import records
from llmos_shell.memory.ledger import Ledger
from llmos_shell.memory.scan import VectorScan
from llmos_shell.retrieval.embeddings import shared_embedder

RNG = np.random.default_rng(7)


def _rows(count: int, kind: str = "fact") -> list[tuple[records.MemoryRecord, bytes]]:
    rows = []
    for i in range(count):
        record = records.fact(f"{kind} note {i} {RNG.integers(1 << 30)}")
        if kind != "fact":
            record = records.episode(record.text, [{"tool": "list_directory", "arguments": {}}])
        vector = RNG.standard_normal(384).astype(np.float32)
        rows.append((record, (vector / np.linalg.norm(vector)).tobytes()))
    return rows


def _exact(ledger: Ledger, query: np.ndarray, kinds: set[str] | None, limit: int) -> list[str]:
    """The truth, from the records themselves, one row at a time."""
    scored = [
        (float(np.frombuffer(vector, dtype=np.float32) @ query), memory_id)
        for memory_id, kind, vector in ledger.scan_rows()
        if vector is not None and (kinds is None or kind in kinds)
    ]
    return [memory_id for _, memory_id in sorted(scored, reverse=True)[:limit]]


def _query() -> np.ndarray:
    vector = RNG.standard_normal(384).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_the_scan_follows_every_change_and_a_new_process_starts_from_its_file(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "records.sqlite3")
    cache = tmp_path / "scan.npz"
    scan = VectorScan(ledger, shared_embedder(), cache=cache)
    query = _query()
    assert scan.query(query, kinds=None, limit=5) == []
    facts, episodes = _rows(300), _rows(100, "episode")
    ledger.put(facts + episodes)
    found = scan.query(query, kinds=None, limit=5)
    assert [i for i, _ in found] == _exact(ledger, query, None, 5)
    assert found == sorted(found, key=lambda hit: -hit[1])
    # A few changes are patched in: deletes, a replaced vector, new rows.
    ledger.delete([found[0][0], facts[10][0].id])
    replaced = facts[20][0]
    ledger.put([(replaced, query.tobytes()), *_rows(5)])
    top = scan.query(query, kinds=None, limit=3)
    assert top[0] == (replaced.id, top[0][1]) and abs(top[0][1] - 1.0) < 1e-5
    assert [i for i, _ in top] == _exact(ledger, query, None, 3)
    assert [i for i, _ in scan.query(query, kinds=["episode"], limit=4)] == _exact(
        ledger, query, {"episode"}, 4
    )
    # Another process starts from the file and catches up with what changed after it.
    other = VectorScan(Ledger(tmp_path / "records.sqlite3"), shared_embedder(), cache=cache)
    ledger.delete([replaced.id])
    assert [i for i, _ in other.query(query, kinds=None, limit=5)] == _exact(ledger, query, None, 5)
    assert other._seq == ledger.last_seq()


def test_a_damaged_or_stale_file_is_read_again_from_the_records(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "records.sqlite3")
    cache = tmp_path / "scan.npz"
    ledger.put(_rows(50))
    query = _query()
    VectorScan(ledger, shared_embedder(), cache=cache).query(query, kinds=None, limit=1)
    cache.write_bytes(b"\0not a numpy file")
    again = VectorScan(ledger, shared_embedder(), cache=cache)
    assert [i for i, _ in again.query(query, kinds=None, limit=5)] == _exact(ledger, query, None, 5)
    # Records replaced by an empty file: the newer file describes other records, so it is unused.
    fresh = Ledger(tmp_path / "new.sqlite3")
    assert VectorScan(fresh, shared_embedder(), cache=cache).query(query, kinds=None, limit=5) == []


def test_a_record_without_a_stored_vector_is_embedded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "records.sqlite3")
    boiler = records.fact("the boiler needs a check in March")
    ledger.put([(boiler, None), *_rows(20)])
    scan = VectorScan(ledger, shared_embedder())
    question = shared_embedder().embed(["when is the boiler checked?"])[0]
    assert scan.query(question, kinds=["fact"], limit=1)[0][0] == boiler.id
