"""Lexical retrieval (BM25): the most similar examples for a request, without a model."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for from by with and or all any each every that this these those "
    "is are be it its which who whose as into than then so me my i you your please".split()
)


def tokens(text: str) -> list[str]:
    """Lower-case words of a text, without common stop words, lightly stemmed."""
    out = []
    for word in _TOKEN.findall(text.lower()):
        if word in _STOP:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]  # files -> file, directories -> directorie (both sides alike)
        out.append(word)
    return out


class BM25Index:
    """Okapi BM25 over a fixed list of texts."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs = [Counter(tokens(text)) for text in texts]
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self._docs:
            df.update(doc.keys())
        n = len(self._docs)
        self._idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}
        self._postings: dict[str, list[int]] = {}
        for index, doc in enumerate(self._docs):
            for term in doc:
                self._postings.setdefault(term, []).append(index)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """Indices and scores of the `k` best matches, best first (ties: lower index first)."""
        scores: dict[int, float] = {}
        for term in set(tokens(query)):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for index in self._postings[term]:
                tf = self._docs[index][term]
                norm = self.k1 * (1 - self.b + self.b * self._lengths[index] / (self._avg or 1))
                scores[index] = scores.get(index, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return best[:k]
