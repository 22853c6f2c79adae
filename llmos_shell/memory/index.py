"""The vector index: a chromadb PersistentClient folder beside the records, rebuilt from them.

Used once a store holds more records than a scan of their vectors answers quickly (store.py).

chromadb is not safe with two processes writing one folder, so every use of the index (a
search, an add) happens inside a short exclusive `flock` on `index.lock`. A process keeps
its client open between uses, but only while nobody else has written: each write stamps a
new generation into `index.json`, and a process that finds a generation it did not write
closes its client and opens the folder afresh before touching it. Under the same lock the
index replays the records' change log from the last sequence number it applied, so it never
misses a record that another process (or one killed half-way) stored. An index that fails
to open, to answer, or to hold as many entries as there are records is moved aside and
rebuilt from the records, with one line saying so.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.errors import MemoryStoreError
from llmos_shell.memory.ledger import Ledger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from llmos_shell.retrieval.embeddings import Embedder

COLLECTION = "llmos-memories"
LOCK_TIMEOUT_S = 30.0
_BATCH = 2000


def chroma_settings() -> Any:
    """chromadb settings: no telemetry, ever."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


def embedding_function(embedder: Embedder) -> Any:
    """The project's own offline embedder as a chromadb embedding function.

    Passing it to every collection keeps chromadb from falling back on its default one, which
    downloads a model on first use.
    """
    from chromadb.api.types import Documents, EmbeddingFunction

    class LlmosEmbedding(EmbeddingFunction[Documents]):
        """all-MiniLM-L6-v2 (int8 ONNX) through llmos's own embedder."""

        def __init__(self, inner: Embedder) -> None:
            self.inner = inner

        def __call__(self, input: Documents) -> Any:
            return list(self.inner.embed(list(input)))

        @staticmethod
        def name() -> str:
            return "llmos-minilm-int8"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            from llmos_shell.retrieval.embeddings import shared_embedder

            return LlmosEmbedding(shared_embedder())

        def default_space(self) -> Any:
            return "cosine"

    return LlmosEmbedding(embedder)


def open_collection(client: Any, embedder: Embedder) -> Any:
    """The memories collection of a chromadb client, created on first use (cosine space)."""
    return client.get_or_create_collection(
        COLLECTION,
        embedding_function=embedding_function(embedder),
        metadata={"hnsw:space": "cosine"},
    )


class LocalIndex:
    """The chromadb folder of one data dir, used only under its lock."""

    def __init__(self, folder: Path, ledger: Ledger, embedder: Embedder) -> None:
        self.folder = folder
        self.ledger = ledger
        self.embedder = embedder
        self.lock_path = folder.parent / "index.lock"
        self.state_path = folder.parent / "index.json"
        self.notices: list[str] = []
        self._client: Any = None
        self._collection: Any = None
        self._generation: str | None = None
        self._thread_lock = threading.RLock()

    # -- the lock and the state ------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                deadline = time.monotonic() + LOCK_TIMEOUT_S
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise MemoryStoreError(
                                f"the memory index {self.folder} has been locked by another "
                                f"process for over {LOCK_TIMEOUT_S:.0f} s; try again, or end "
                                "that process"
                            ) from None
                        time.sleep(0.005)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if isinstance(state, dict):
                return state
        except (OSError, ValueError):
            pass
        return {"generation": "", "applied_seq": 0}

    def _write_state(self, applied_seq: int, *, new_generation: bool) -> None:
        state = self._read_state()
        generation = uuid.uuid4().hex if new_generation else str(state.get("generation", ""))
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"generation": generation, "applied_seq": applied_seq}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(self.state_path)
        self._generation = generation

    # -- opening, catching up, rebuilding --------------------------------------------------

    def _close_client(self, *, always: bool = False) -> None:
        if self._client is not None or always:
            from chromadb.api.shared_system_client import SharedSystemClient

            self._client = None
            self._collection = None
            # Also drops what a failed open left cached for the folder.
            SharedSystemClient.clear_system_cache()

    def _open(self) -> None:
        import chromadb

        self.folder.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(path=str(self.folder), settings=chroma_settings())
        self._collection = open_collection(self._client, self.embedder)

    def _ready(self) -> None:
        """Under the lock: an open client that has applied every change to the records."""
        state = self._read_state()
        if self._collection is not None and state.get("generation") == self._generation:
            self._catch_up(state)
            return
        self._close_client()
        try:
            self._open()
            self._catch_up(state)
            self._repair()
        except MemoryStoreError:
            raise
        except Exception as exc:  # chromadb raises many kinds for a damaged folder
            self._rebuild(f"{type(exc).__name__}: {exc}")
        self._generation = self._read_state().get("generation")

    def _repair(self) -> None:
        """Add what the index lacks and drop what the records no longer hold (after a kill)."""
        if self._collection.count() == self.ledger.count():
            return
        self._catch_up(self._read_state())  # another process may have written meanwhile
        if self._collection.count() == self.ledger.count():
            return
        seq = self.ledger.last_seq()  # changes after it are replayed next time
        indexed = self._indexed()
        stored = {memory_id for memory_id, _ in self.ledger.vectors()}
        missing, extra = sorted(stored - indexed), sorted(indexed - stored)
        self._upsert(missing)
        for start in range(0, len(extra), _BATCH):
            self._collection.delete(ids=extra[start : start + _BATCH])
        if missing or extra:
            self._write_state(seq, new_generation=True)
            self.notices.append(
                f"the memory index lacked {len(missing)} and had {len(extra)} stale entries "
                "(a process stopped half-way); it is in step with the records again"
            )

    def _indexed(self) -> set[str]:
        """The ids the index holds (read in pages)."""
        indexed: set[str] = set()
        offset = 0
        while True:
            got = self._collection.get(include=[], limit=_BATCH * 5, offset=offset)["ids"]
            indexed.update(got)
            if len(got) < _BATCH * 5:
                return indexed
            offset += len(got)

    def _catch_up(self, state: dict[str, Any]) -> None:
        """Apply the records' changes after the state's sequence number."""
        applied = int(state.get("applied_seq", 0) or 0)
        newest, changes = self.ledger.changes_since(applied)
        if not changes:
            return
        puts = [memory_id for memory_id, op in changes.items() if op == "put"]
        deletes = [memory_id for memory_id, op in changes.items() if op == "delete"]
        self._upsert(puts)
        if deletes:
            for start in range(0, len(deletes), _BATCH):
                self._collection.delete(ids=deletes[start : start + _BATCH])
        self._write_state(newest, new_generation=True)

    def _upsert(self, ids: Sequence[str]) -> None:
        import numpy as np

        records = self.ledger.get(list(ids))
        rows = [(i, v) for i, v in self.ledger.vectors(list(records)) if i in records]
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            missing = [i for i, v in batch if v is None]
            computed = {}
            if missing:
                from llmos_shell.memory.records import search_text

                vectors = self.embedder.embed([search_text(records[i]) for i in missing])
                computed = dict(zip(missing, vectors, strict=False))
            embeddings = [
                computed[i] if v is None else np.frombuffer(v, dtype=np.float32) for i, v in batch
            ]
            self._collection.upsert(
                ids=[i for i, _ in batch],
                embeddings=np.stack(embeddings),
                metadatas=[{"kind": records[i].kind} for i, _ in batch],
            )

    def _rebuild(self, why: str) -> None:
        """Move the damaged folder aside and index every record again."""
        self._close_client(always=True)
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        aside = self.folder.with_name(f"{self.folder.name}.broken-{stamp}")
        if self.folder.exists():
            try:
                self.folder.rename(aside)
            except OSError:
                shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.state_path.unlink()
        try:
            self._open()
            newest = self.ledger.last_seq()
            self._upsert([memory_id for memory_id, _ in self.ledger.vectors()])
            self._write_state(newest, new_generation=True)
        except Exception as exc:
            self._close_client()
            raise MemoryStoreError(
                f"the memory index {self.folder} is damaged and could not be rebuilt ({exc}); "
                "your memories are safe in the records file; delete the index folder to retry"
            ) from None
        self.notices.append(
            f"the memory index was damaged ({why[:120]}); set it aside as {aside.name} and "
            f"rebuilt it from {self.ledger.count()} records"
        )

    # -- what the store asks of it ----------------------------------------------------------

    def ids(self) -> set[str]:
        """Every id the index holds, once it is in step with the records."""
        with self._locked():
            self._ready()
            return self._indexed()

    def sync(self) -> None:
        """Bring the index up to date with the records now (after a write)."""
        with self._locked():
            self._ready()

    def query(
        self, vector: npt.NDArray[np.float32], *, kinds: Sequence[str] | None, limit: int
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the closest entries of the given kinds, best first."""
        with self._locked():
            for attempt in (1, 2):
                self._ready()
                try:
                    return self._query(vector, kinds, limit)
                except Exception as exc:
                    if attempt == 2:
                        raise MemoryStoreError(
                            f"the memory index cannot be searched ({exc})"
                        ) from None
                    self._rebuild(f"{type(exc).__name__}: {exc}")
        return []

    def _query(
        self, vector: npt.NDArray[np.float32], kinds: Sequence[str] | None, limit: int
    ) -> list[tuple[str, float]]:
        total = self._collection.count()
        if total == 0 or limit <= 0:
            return []
        where: Any = None
        if kinds:
            where = {"kind": kinds[0]} if len(kinds) == 1 else {"kind": {"$in": list(kinds)}}
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=min(limit, total),
            where=where,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=False)]

    def reset(self) -> None:
        """Drop the index folder (after the records were cleared); its next use starts anew."""
        with self._locked():
            self._close_client()
            shutil.rmtree(self.folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                self.state_path.unlink()
            self._write_state(self.ledger.last_seq(), new_generation=True)

    def close(self) -> None:
        """Let go of the chromadb client."""
        with self._thread_lock:
            self._close_client()
