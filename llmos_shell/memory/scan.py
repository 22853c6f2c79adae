"""Exact search over the records' own vectors, without an index.

Each record keeps its vector in the ledger, so a store of many thousand memories is searched
faster by holding them in one matrix and taking the dot products than by starting chromadb
(whose import alone takes longer than scanning 10,000 vectors). The matrix is kept between
searches and between processes (`scan.npz` beside the records, stamped with the change log's
sequence number) and brought up to date from the change log, so a new process reads one file
instead of every row, and a search after a write reads only the rows that changed.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.memory.ledger import Ledger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from llmos_shell.retrieval.embeddings import Embedder

# Past this share of the rows changed, reading them all again is quicker than patching.
_REREAD_SHARE = 0.5


class VectorScan:
    """Cosine similarity of a query against every stored vector (exact, best first)."""

    def __init__(self, ledger: Ledger, embedder: Embedder, cache: Path | None = None) -> None:
        self.ledger = ledger
        self.embedder = embedder
        self.cache = cache
        self._seq = -1
        # numpy arrays: ids and kinds (str), and one unit vector a row (float32)
        self._ids: Any = None
        self._kinds: Any = None
        self._matrix: Any = None

    # -- keeping the matrix in step with the records ----------------------------------------

    def _ready(self) -> None:
        """Bring the matrix up to the records' newest change (from the cache file if newer)."""
        newest = self.ledger.last_seq()
        if newest == self._seq and self._matrix is not None:
            return
        if self._seq < 0 or self._matrix is None:
            self._load_cache()
        if self._seq == newest and self._matrix is not None:
            return
        if self._seq >= 0 and self._matrix is not None and self._seq < newest:
            changed_to, changes = self.ledger.changes_since(self._seq)
            if len(changes) <= _REREAD_SHARE * max(len(self._matrix), 1):
                self._patch(changes)
                self._seq = changed_to
                self._save_cache()
                return
        self._read_all(newest)
        self._save_cache()

    def _read_all(self, newest: int) -> None:
        """Every row read from the records."""
        self._seq = newest  # read before the rows: a change made meanwhile is applied next time
        self._ids, self._kinds, self._matrix = self._arrays(self.ledger.scan_rows())

    def _patch(self, changes: dict[str, str]) -> None:
        """Drop the rows that changed and append their new versions."""
        import numpy as np

        assert self._ids is not None and self._kinds is not None and self._matrix is not None
        keep = ~np.isin(self._ids, list(changes))
        fresh = self.ledger.scan_rows([i for i, op in changes.items() if op == "put"])
        ids, kinds, matrix = self._arrays(fresh)
        if not len(matrix):
            matrix = self._matrix[:0]
        elif not int(keep.sum()):
            self._ids, self._kinds, self._matrix = ids, kinds, matrix
            return
        self._ids = np.concatenate([self._ids[keep], ids])
        self._kinds = np.concatenate([self._kinds[keep], kinds])
        self._matrix = np.concatenate([self._matrix[keep], matrix])

    def _arrays(self, rows: list[tuple[str, str, bytes | None]]) -> tuple[Any, Any, Any]:
        """ids, kinds and unit vectors of rows (a missing vector is computed)."""
        import numpy as np

        missing = [i for i, (_, _, vector) in enumerate(rows) if vector is None]
        computed: dict[int, Any] = {}
        if missing:  # records stored before vectors were kept with them
            from llmos_shell.memory.records import search_text

            stored = self.ledger.get([rows[i][0] for i in missing])
            texts = [
                search_text(stored[rows[i][0]]) if rows[i][0] in stored else "" for i in missing
            ]
            computed = dict(zip(missing, self.embedder.embed(texts), strict=False))
        ids = np.array([memory_id for memory_id, _, _ in rows], dtype=str)
        kinds = np.array([kind for _, kind, _ in rows], dtype=str)
        if not rows:
            return ids, kinds, np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(
            b"".join(
                computed[i].astype(np.float32).tobytes() if vector is None else vector
                for i, (_, _, vector) in enumerate(rows)
            ),
            dtype=np.float32,
        ).reshape(len(rows), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return ids, kinds, matrix / np.where(norms == 0, 1.0, norms)

    # -- the cache file ---------------------------------------------------------------------

    def _load_cache(self) -> None:
        if self.cache is None or not self.cache.is_file():
            return
        import numpy as np

        try:
            with np.load(self.cache, allow_pickle=False) as data:
                seq = int(data["seq"])
                ids, kinds, matrix = data["ids"], data["kinds"], data["matrix"]
        except (OSError, ValueError, KeyError, EOFError):
            return  # damaged or from another version: read from the records instead
        if seq > self.ledger.last_seq() or len(ids) != len(matrix) or len(ids) != len(kinds):
            return  # records replaced behind it
        self._seq, self._ids, self._kinds, self._matrix = seq, ids, kinds, matrix

    def _save_cache(self) -> None:
        if self.cache is None or self._matrix is None:
            return
        import numpy as np

        tmp = self.cache.with_name(f".{self.cache.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    seq=np.int64(self._seq),
                    ids=self._ids,
                    kinds=self._kinds,
                    matrix=self._matrix,
                )
            os.replace(tmp, self.cache)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    # -- searching ------------------------------------------------------------------------

    def query(
        self, vector: npt.NDArray[np.float32], *, kinds: Sequence[str] | None, limit: int
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the closest records of the given kinds, best first."""
        import numpy as np

        self._ready()
        if self._matrix is None or self._ids is None or not len(self._ids) or limit <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        # einsum, not `@`: past a few thousand rows OpenBLAS spreads a matrix-vector product
        # over every core and, on a machine kept busy by other work, waits for them (60 ms
        # for 10k rows against 1.4 ms on one core, measured beside other work).
        scores = np.einsum("ij,j->i", self._matrix, query / (norm or 1.0))
        if kinds and self._kinds is not None:
            scores = np.where(np.isin(self._kinds, list(kinds)), scores, -np.inf)
        count = min(limit, len(scores))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(str(self._ids[i]), float(scores[i])) for i in best if np.isfinite(scores[i])]
