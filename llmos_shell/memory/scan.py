"""Exact search over the records' own vectors, without an index.

Each record keeps its vector in the ledger, so a store of a few thousand memories is searched
faster by reading them into one matrix and taking the dot products than by starting chromadb
(whose import alone takes longer than scanning 10,000 vectors). The matrix is held between
searches and read again only when the change log has moved on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from llmos_shell.memory.ledger import Ledger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from llmos_shell.retrieval.embeddings import Embedder


class VectorScan:
    """Cosine similarity of a query against every stored vector (exact, best first)."""

    def __init__(self, ledger: Ledger, embedder: Embedder) -> None:
        self.ledger = ledger
        self.embedder = embedder
        self._seq = -1
        self._ids: list[str] = []
        self._kinds: npt.NDArray[np.str_] | None = None
        self._matrix: npt.NDArray[np.float32] | None = None

    def _ready(self) -> None:
        """Read the vectors again when the records changed since the last read."""
        import numpy as np

        newest = self.ledger.last_seq()
        if newest == self._seq and self._matrix is not None:
            return
        rows = self.ledger.scan_rows()
        missing = [i for i, (_, _, vector) in enumerate(rows) if vector is None]
        computed: dict[int, npt.NDArray[np.float32]] = {}
        if missing:  # records stored before vectors were kept with them
            from llmos_shell.memory.records import search_text

            stored = self.ledger.get([rows[i][0] for i in missing])
            texts = [
                search_text(stored[rows[i][0]]) if rows[i][0] in stored else "" for i in missing
            ]
            computed = dict(zip(missing, self.embedder.embed(texts), strict=False))
        if not rows:
            self._ids, self._kinds, self._matrix, self._seq = [], None, None, newest
            return
        matrix = np.stack(
            [
                computed[i] if vector is None else np.frombuffer(vector, dtype=np.float32)
                for i, (_, _, vector) in enumerate(rows)
            ]
        )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.where(norms == 0, 1.0, norms)
        self._ids = [memory_id for memory_id, _, _ in rows]
        self._kinds = np.array([kind for _, kind, _ in rows], dtype=str)
        self._matrix = matrix
        self._seq = newest

    def query(
        self, vector: npt.NDArray[np.float32], *, kinds: Sequence[str] | None, limit: int
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the closest records of the given kinds, best first."""
        import numpy as np

        self._ready()
        if self._matrix is None or limit <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = self._matrix @ (query / (norm or 1.0))
        if kinds and self._kinds is not None:
            scores = np.where(np.isin(self._kinds, list(kinds)), scores, -np.inf)
        count = min(limit, len(scores))
        best = np.argpartition(-scores, count - 1)[:count]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self._ids[i], float(scores[i])) for i in best if np.isfinite(scores[i])]
