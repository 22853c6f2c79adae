"""The memory store: records kept safe, found by meaning.

`LocalStore` keeps the records in SQLite in the data dir, each with its vector. Up to
`INDEX_ABOVE` records it searches those vectors directly (`scan.py`: exact, and no chromadb
to import); past that, where chromadb is installed (`pip install 'llmos-shell[chroma]'`),
it finds them through a chromadb index beside them (see `index.py` for how several
processes share it), which catches up from the records' change log. `RemoteStore` keeps
both in a Chroma server (`memory_url`), for a person with several machines. Both answer the
same calls; a record is acknowledged only once it is stored for good.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from llmos_shell.errors import MemoryStoreError
from llmos_shell.memory.ledger import Ledger
from llmos_shell.memory.records import MemoryRecord, search_text

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from llmos_shell.config.store_marker import StoreMarkers
    from llmos_shell.retrieval.embeddings import Embedder

    Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hit:
    """A record found for a query and how close it is (cosine similarity, 1 is the same)."""

    record: MemoryRecord
    score: float


class MemoryStore(Protocol):
    """What every store does."""

    location: str
    notices: list[str]
    embedder: Embedder

    def embed(self, text: str) -> Vector:
        """The query vector of a text."""

    def add(self, records: Sequence[MemoryRecord], *, skip_existing: bool = False) -> list[str]:
        """Store records (all or none); returns the ids stored. Returned means durable."""

    def get(self, memory_id: str) -> MemoryRecord | None:
        """One record by id."""

    def records(self, kind: str | None = None) -> list[MemoryRecord]:
        """Every record, or those of one kind, oldest first."""

    def search(
        self, vector: Vector, *, kinds: Sequence[str] | None = None, limit: int = 5
    ) -> list[Hit]:
        """The closest records of the given kinds, best first."""

    def forget(self, ids: Sequence[str]) -> list[str]:
        """Remove records; returns the ids that existed."""

    def clear(self) -> int:
        """Remove every record; returns how many there were."""

    def count(self) -> int:
        """How many records there are."""

    def close(self) -> None:
        """Let go of files and connections."""


# Past this many records a search goes through the chromadb index (where it is installed):
# below it, reading the vectors and scanning them is faster than importing chromadb.
INDEX_ABOVE = 20_000


def chromadb_installed() -> bool:
    """Whether chromadb can be imported (found, not imported)."""
    import importlib.util

    return importlib.util.find_spec("chromadb") is not None


class LocalStore:
    """Records in `<dir>/records.sqlite3`, their vectors also in `scan.npz`; past `index_above`
    of them, an index in `<dir>/index/`."""

    def __init__(
        self,
        folder: Path,
        embedder: Embedder,
        markers: StoreMarkers | None = None,
        *,
        index_above: int = INDEX_ABOVE,
    ) -> None:
        """`markers`: the state folder's record of what the store held, to notice its loss."""
        from llmos_shell.memory.index import LocalIndex
        from llmos_shell.memory.scan import VectorScan

        self.folder = folder
        self.location = str(folder)
        self.embedder = embedder
        self.index_above = index_above
        self.ledger = Ledger(folder / "records.sqlite3", markers)
        self.index = LocalIndex(folder / "index", self.ledger, embedder)
        self.scan = VectorScan(self.ledger, embedder, cache=folder / "scan.npz")
        self.notices = self.index.notices

    def uses_index(self) -> bool:
        """Whether searches go through the chromadb index (many records, chromadb installed)."""
        return self.ledger.count() > self.index_above and chromadb_installed()

    def embed(self, text: str) -> Vector:
        """The query vector of a text."""
        vector: Vector = self.embedder.embed([text])[0]
        return vector

    def add(self, records: Sequence[MemoryRecord], *, skip_existing: bool = False) -> list[str]:
        """Write the records (with their vectors) in one transaction, then index them."""
        if not records:
            return []
        vectors = self.embedder.embed([search_text(r) for r in records])
        rows = [(r, vectors[i].astype("float32").tobytes()) for i, r in enumerate(records)]
        written = self.ledger.put(rows, replace=not skip_existing)
        if self.uses_index():
            try:
                self.index.sync()
            except MemoryStoreError as exc:
                # The records are stored; the index catches up on its next use.
                self.notices.append(f"memory stored but not indexed yet ({exc})")
        return written

    def get(self, memory_id: str) -> MemoryRecord | None:
        """One record by id."""
        return self.ledger.get([memory_id]).get(memory_id)

    def records(self, kind: str | None = None) -> list[MemoryRecord]:
        """Every record, or those of one kind, oldest first."""
        return self.ledger.all(kind)

    def search(
        self, vector: Vector, *, kinds: Sequence[str] | None = None, limit: int = 5
    ) -> list[Hit]:
        """The closest records of the given kinds, best first (only ones the records hold)."""
        if self.uses_index():
            found = self.index.query(vector, kinds=kinds, limit=limit)
        else:
            found = self.scan.query(vector, kinds=kinds, limit=limit)
        stored = self.ledger.get([memory_id for memory_id, _ in found])
        return [Hit(stored[i], score) for i, score in found if i in stored]

    def forget(self, ids: Sequence[str]) -> list[str]:
        """Remove records, then drop them from the index."""
        removed = self.ledger.delete(list(ids))
        if removed and self.uses_index():
            try:
                self.index.sync()
            except MemoryStoreError as exc:
                self.notices.append(f"memory forgotten but still indexed for now ({exc})")
        return removed

    def clear(self) -> int:
        """Remove every record and start the index afresh."""
        ids = [r.id for r in self.ledger.all()]
        self.ledger.delete(ids)
        self.index.reset()
        return len(ids)

    def count(self) -> int:
        """How many records there are."""
        return self.ledger.count()

    def close(self) -> None:
        """Let go of the index client and this thread's database connection."""
        self.index.close()
        self.ledger.close()


class RemoteStore:
    """Records and index in one collection of a Chroma server (`memory_url`)."""

    def __init__(self, url: str, embedder: Embedder) -> None:
        from urllib.parse import urlparse

        from llmos_shell.errors import MissingExtraError, import_extra
        from llmos_shell.memory.index import chroma_settings, open_collection

        try:
            chromadb = import_extra("chromadb", "chroma", f"the memory server {url}")
        except MissingExtraError as exc:
            raise MemoryStoreError(str(exc)) from None

        parsed = urlparse(url if "://" in url else f"http://{url}")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise MemoryStoreError(
                f"memory_url {url!r} is not a server address; write it as http://HOST:PORT"
            )
        self.location = url
        self.embedder = embedder
        self.notices: list[str] = []
        try:
            self._client = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings(),
            )
            self._collection = open_collection(self._client, embedder)
        except Exception as exc:
            raise MemoryStoreError(
                f"cannot reach the memory server at {url} ({type(exc).__name__}: {exc}); "
                "start it (chroma run --path DIR) or fix memory_url"
            ) from None

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._collection, method)(**kwargs)
        except Exception as exc:
            raise MemoryStoreError(
                f"the memory server at {self.location} failed to {what} ({type(exc).__name__}: "
                f"{exc}); check that it is running"
            ) from None

    def embed(self, text: str) -> Vector:
        """The query vector of a text."""
        vector: Vector = self.embedder.embed([text])[0]
        return vector

    def add(self, records: Sequence[MemoryRecord], *, skip_existing: bool = False) -> list[str]:
        """Send the records to the server; the server's answer is the acknowledgement."""
        if skip_existing:
            have = set(self._call("read", "get", ids=[r.id for r in records], include=[])["ids"])
            records = [r for r in records if r.id not in have]
        if not records:
            return []
        vectors = self.embedder.embed([search_text(r) for r in records])
        self._call(
            "store memories",
            "upsert",
            ids=[r.id for r in records],
            embeddings=vectors,
            documents=[r.text for r in records],
            metadatas=[_metadata(r) for r in records],
        )
        return [r.id for r in records]

    def get(self, memory_id: str) -> MemoryRecord | None:
        """One record by id."""
        got = self._call("read", "get", ids=[memory_id], include=["documents", "metadatas"])
        return _records(got)[0] if got["ids"] else None

    def records(self, kind: str | None = None) -> list[MemoryRecord]:
        """Every record, or those of one kind, oldest first."""
        where = {"kind": kind} if kind else None
        got = self._call("read", "get", where=where, include=["documents", "metadatas"])
        return sorted(_records(got), key=lambda r: r.created)

    def search(
        self, vector: Vector, *, kinds: Sequence[str] | None = None, limit: int = 5
    ) -> list[Hit]:
        """The closest records of the given kinds, best first."""
        total = self.count()
        if not total:
            return []
        where: Any = None
        if kinds:
            where = {"kind": kinds[0]} if len(kinds) == 1 else {"kind": {"$in": list(kinds)}}
        got = self._call(
            "search",
            "query",
            query_embeddings=[vector],
            n_results=min(limit, total),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        flat = {
            key: (value[0] if value else None) for key, value in got.items() if key != "included"
        }
        return [
            Hit(record, 1.0 - float(distance))
            for record, distance in zip(_records(flat), flat["distances"] or [], strict=False)
        ]

    def forget(self, ids: Sequence[str]) -> list[str]:
        """Remove records; returns the ids that existed."""
        have = self._call("read", "get", ids=list(ids), include=[])["ids"]
        if have:
            self._call("forget memories", "delete", ids=list(have))
        return list(have)

    def clear(self) -> int:
        """Remove every record."""
        ids = self._call("read", "get", include=[])["ids"]
        for start in range(0, len(ids), 1000):
            self._call("forget memories", "delete", ids=ids[start : start + 1000])
        return len(ids)

    def count(self) -> int:
        """How many records there are."""
        return int(self._call("count", "count"))

    def close(self) -> None:
        """Nothing to let go of (HTTP)."""


def _metadata(record: MemoryRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "request": record.request,
        "calls": json.dumps(list(record.calls), ensure_ascii=False),
        "created": record.created,
        "source": record.source,
    }


def _records(got: Any) -> list[MemoryRecord]:
    out = []
    for memory_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=False):
        meta = meta or {}
        out.append(
            MemoryRecord(
                id=memory_id,
                kind=str(meta.get("kind", "fact")),
                text=text or "",
                request=str(meta.get("request", "")),
                calls=tuple(json.loads(str(meta.get("calls") or "[]"))),
                created=str(meta.get("created", "")),
                source=str(meta.get("source", "")),
            )
        )
    return out
