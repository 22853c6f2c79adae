"""Vectors embedded once are kept: in this process across embedders, and in each cache folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llmos_shell.retrieval import embeddings
from llmos_shell.retrieval.embeddings import CachedEmbedder, shared_embedder

TEXTS = ["show me the files here", "how much disk space is free"]


class Counting:
    """The real MiniLM model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.inner = shared_embedder()
        self.model_id = self.inner.model_id
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        self.embedded.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "_REMEMBERED", type(embeddings._REMEMBERED)())


def test_a_second_embedder_in_the_process_reuses_the_vectors_and_fills_its_folder(
    tmp_path: Path,
) -> None:
    model = Counting()
    first = CachedEmbedder(model, tmp_path / "one").embed(TEXTS)
    assert model.embedded == TEXTS
    second = CachedEmbedder(model, tmp_path / "two").embed(TEXTS)
    assert model.embedded == TEXTS  # not embedded again
    assert np.array_equal(first, second)
    for folder in ("one", "two"):
        [kept] = (tmp_path / folder).glob("embeddings-*.npy")
        assert np.array_equal(np.load(kept), first)


def test_a_new_process_reads_the_folder_and_a_damaged_file_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Counting()
    vectors = CachedEmbedder(model, tmp_path).embed(TEXTS)
    monkeypatch.setattr(embeddings, "_REMEMBERED", type(embeddings._REMEMBERED)())  # restart
    assert np.array_equal(CachedEmbedder(model, tmp_path).embed(TEXTS), vectors)
    assert model.embedded == TEXTS  # read from the folder
    [kept] = tmp_path.glob("embeddings-*.npy")
    kept.write_bytes(b"not an array")
    monkeypatch.setattr(embeddings, "_REMEMBERED", type(embeddings._REMEMBERED)())
    assert np.array_equal(CachedEmbedder(model, tmp_path).embed(TEXTS), vectors)
    assert model.embedded == TEXTS + TEXTS  # embedded again, and the file made whole
    assert np.array_equal(np.load(kept), vectors)


def test_the_process_keeps_only_the_latest_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "REMEMBERED_LISTS", 2)
    model = Counting()
    embedder = CachedEmbedder(model)
    for text in ("one", "two", "three", "three", "one"):
        embedder.embed([text])
    assert model.embedded == ["one", "two", "three", "one"]  # "one" was the oldest of three
