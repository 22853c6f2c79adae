"""The embedding cache keeps a request's vector in memory only and rebuilds a stale file; the
model loads in the background and says why it cannot when it is needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from llmos_shell.errors import BackendUnavailableError
from llmos_shell.retrieval import embeddings
from llmos_shell.retrieval.embeddings import (
    MODEL_ID,
    CachedEmbedder,
    PreloadingEmbedder,
    shared_embedder,
)

if TYPE_CHECKING:
    from llmos_shell.retrieval.embeddings import Vectors

TEXTS = ["how much disk space is free", "list the files here", "kill the process on port 80"]


@pytest.fixture(autouse=True)
def _nothing_remembered() -> None:
    """Each test starts as a new process does: no vectors in this process's memory."""
    embeddings._REMEMBERED.clear()


class CountingEmbedder:
    """The real model, counting the texts it was asked to embed."""

    model_id = MODEL_ID

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        return shared_embedder().embed(texts)


def test_a_single_request_is_not_written_to_disk(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path)
    cached.embed(["how much disk space is free"])
    cached.embed(["how much disk space is free"])
    assert inner.embedded == 1  # the second came from memory
    assert list(tmp_path.glob("embeddings-*")) == []


@pytest.mark.parametrize("damage", ["garbage", "other shape"])
def test_a_damaged_or_stale_cache_file_is_recomputed_and_replaced(
    tmp_path: Path, damage: str
) -> None:
    CachedEmbedder(CountingEmbedder(), tmp_path).embed(TEXTS)
    (path,) = tmp_path.glob("embeddings-*.npy")
    if damage == "garbage":
        path.write_bytes(b"not an array")
    else:
        np.save(path, np.zeros((2, 384), dtype=np.float32))
    embeddings._REMEMBERED.clear()  # a new process: only the folder knows the vectors
    inner = CountingEmbedder()
    vectors = CachedEmbedder(inner, tmp_path).embed(TEXTS)
    assert inner.embedded == 3
    np.testing.assert_allclose(vectors, shared_embedder().embed(TEXTS), atol=1e-6)
    np.testing.assert_array_equal(np.load(path), vectors)  # the file was rebuilt


def test_the_preloading_embedder_gives_the_shared_models_vectors() -> None:
    preloading = PreloadingEmbedder()
    assert preloading.model_id == shared_embedder().model_id
    np.testing.assert_array_equal(preloading.embed(TEXTS), shared_embedder().embed(TEXTS))


def test_a_model_that_cannot_load_is_said_when_it_is_needed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing() -> embeddings.MiniLMEmbedder:
        raise BackendUnavailableError("the embedding model package is not installed")

    monkeypatch.setattr(embeddings, "_shared", missing)
    preloading = PreloadingEmbedder()  # the failure in the background does not escape here
    with pytest.raises(BackendUnavailableError, match="not installed"):
        preloading.embed(["anything"])
