"""The records themselves, in SQLite: the truth that the vector index is rebuilt from.

Every change is one short transaction (WAL, synchronous=FULL), so a write that returned is
on disk, and several processes may write at once (SQLite serialises them). Each change also
appends to a change log with a rising sequence number; the vector index replays the log
from the last number it applied, so an index that missed a change (a process killed between
the two writes) catches up on its next use.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmos_shell.config.store_marker import StoreMarkers
from llmos_shell.errors import (
    MemoryStoreError,
)
from llmos_shell.memory.records import MemoryRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS memories (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    request TEXT NOT NULL DEFAULT '',
    calls TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    vector BLOB
);
CREATE INDEX IF NOT EXISTS memories_kind ON memories (kind, created);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('put', 'delete'))
);
"""


class Ledger:
    """The SQLite file of memory records and their change log.

    With `markers` (the state folder's record of what each store held), a file that is
    empty, truncated or replaced where it held memories raises MemoryStoreError on opening.
    """

    def __init__(self, path: Path, markers: StoreMarkers | None = None) -> None:
        self.path = path
        self.markers = markers
        self._local = threading.local()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
            identity = self._identity()
        except (OSError, sqlite3.Error) as exc:
            raise MemoryStoreError(
                f"cannot open the memory records {path} ({exc}); check that the folder is "
                "writable, or move the file aside to start afresh"
            ) from None
        if markers is not None:
            damage = markers.check(self._name, identity, self.count())
            if damage is not None:
                raise MemoryStoreError(
                    damage.sentence(
                        "memory store",
                        "",
                        "move the old file back from a backup, or import memories saved with "
                        "`llmos memory export` (`llmos memory import FILE`)",
                    )
                )
            if identity is None:
                with self._transaction() as db:
                    db.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('identity', ?)",
                        (uuid.uuid4().hex,),
                    )
            self._note()

    @property
    def _name(self) -> str:
        return f"memory {self.path}"

    def _identity(self) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = 'identity'").fetchone()
        return str(row[0]) if row else None

    def _note(self) -> None:
        """Note in the marker how many records the file holds now."""
        if self.markers is None:
            return
        try:
            identity = self._identity()
        except sqlite3.Error:
            return
        if identity is not None:
            self.markers.record(self._name, identity, self.count())

    def _open(self, patience_s: float = 30.0) -> None:
        """Create the tables; another process opening the same file at the same moment can
        hold it while it switches the journal mode, which SQLite reports as locked at once
        rather than waiting, so that is waited out here."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                self._connection().executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                db = getattr(self._local, "db", None)
                if db is not None:
                    db.close()
                    self._local.db = None
                time.sleep(0.05)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # a returned write survives a power cut
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def put(
        self, records: Sequence[tuple[MemoryRecord, bytes | None]], *, replace: bool = True
    ) -> list[str]:
        """Store records with their vectors in one transaction; returns the ids written.

        With `replace=False` an id already stored is skipped (imports keep what is there)."""
        written: list[str] = []
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        try:
            with self._transaction() as db:
                for record, vector in records:
                    cursor = db.execute(
                        f"{verb} INTO memories (id, kind, text, request, calls, created, source,"
                        " vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            record.id,
                            record.kind,
                            record.text,
                            record.request,
                            json.dumps(list(record.calls), ensure_ascii=False),
                            record.created,
                            record.source,
                            vector,
                        ),
                    )
                    if cursor.rowcount:
                        db.execute("INSERT INTO changes (id, op) VALUES (?, 'put')", (record.id,))
                        written.append(record.id)
        except sqlite3.Error as exc:
            raise self._error("write", exc) from None
        self._note()
        return written

    def delete(self, ids: Sequence[str]) -> list[str]:
        """Remove records by id in one transaction; returns the ids that existed."""
        removed: list[str] = []
        try:
            with self._transaction() as db:
                for memory_id in ids:
                    if db.execute("DELETE FROM memories WHERE id = ?", (memory_id,)).rowcount:
                        db.execute(
                            "INSERT INTO changes (id, op) VALUES (?, 'delete')", (memory_id,)
                        )
                        removed.append(memory_id)
        except sqlite3.Error as exc:
            raise self._error("delete from", exc) from None
        self._note()
        return removed

    def get(self, ids: Sequence[str]) -> dict[str, MemoryRecord]:
        """The records with these ids that exist."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._query(f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", list(ids))
        return {row[0]: _record(row) for row in rows}

    def all(self, kind: str | None = None) -> list[MemoryRecord]:
        """Every record (of one kind), oldest first."""
        if kind is None:
            rows = self._query(f"SELECT {_COLUMNS} FROM memories ORDER BY created, rowid", [])
        else:
            rows = self._query(
                f"SELECT {_COLUMNS} FROM memories WHERE kind = ? ORDER BY created, rowid", [kind]
            )
        return [_record(row) for row in rows]

    def vectors(self, ids: Sequence[str] | None = None) -> list[tuple[str, bytes | None]]:
        """(id, vector) of the given records, or of all of them."""
        if ids is None:
            return [(r[0], r[1]) for r in self._query("SELECT id, vector FROM memories", [])]
        out: list[tuple[str, bytes | None]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out += self._query(f"SELECT id, vector FROM memories WHERE id IN ({marks})", chunk)
        return out

    def scan_rows(self, ids: Sequence[str] | None = None) -> list[tuple[str, str, bytes | None]]:
        """(id, kind, vector) of the given records, or of all of them (a search without the index)."""
        if ids is None:
            return list(self._query("SELECT id, kind, vector FROM memories", []))
        out: list[tuple[str, str, bytes | None]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out += self._query(
                f"SELECT id, kind, vector FROM memories WHERE id IN ({marks})", chunk
            )
        return out

    def count(self) -> int:
        """How many records there are."""
        return int(self._query("SELECT count(*) FROM memories", [])[0][0])

    def last_seq(self) -> int:
        """The newest change's sequence number (0 when nothing ever changed)."""
        return int(self._query("SELECT coalesce(max(seq), 0) FROM changes", [])[0][0])

    def changes_since(self, seq: int) -> tuple[int, dict[str, str]]:
        """The newest sequence number, and each id changed after `seq` with its last change."""
        rows = self._query("SELECT seq, id, op FROM changes WHERE seq > ? ORDER BY seq", [seq])
        latest: dict[str, str] = {}
        for _, memory_id, op in rows:
            latest[memory_id] = op
        return (int(rows[-1][0]) if rows else seq), latest

    def _query(self, sql: str, params: list[Any]) -> list[Any]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error("read", exc) from None

    def _error(self, verb: str, exc: sqlite3.Error) -> MemoryStoreError:
        return MemoryStoreError(
            f"cannot {verb} the memory records {self.path} ({exc}); if the file is damaged, "
            "move it aside (memories exported with `llmos memory export` can be imported again)"
        )

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


_COLUMNS = "id, kind, text, request, calls, created, source"


def _record(row: Sequence[Any]) -> MemoryRecord:
    return MemoryRecord(
        id=row[0],
        kind=row[1],
        text=row[2],
        request=row[3],
        calls=tuple(json.loads(row[4] or "[]")),
        created=row[5],
        source=row[6],
    )
