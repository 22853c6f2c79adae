"""The memory as the rest of llmos uses it: remember, recall, forget, and what plans learn.

`open_memory` opens the store the settings name (nothing when memory is off). A failure of
memory never fails a request: it becomes a notice, and the request is planned without it.
The tools (`remember`, `recall`, `forget`) reach the memory of the process through
`current()`, which the app sets, or which opens the default store from the llmos paths.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.config.store_marker import StoreMarkers
from llmos_shell.errors import (
    LlmosError,
    MemoryRefused,
    MemoryStoreError,
)
from llmos_shell.memory import records
from llmos_shell.memory.aliases import (
    Alias,
    about_the_person,
    aliases_from_fact,
    named_aliases,
    preferences_of,
)
from llmos_shell.memory.context import PlanMemory, plan_memory
from llmos_shell.memory.records import MemoryRecord
from llmos_shell.memory.secrets import secret_reason
from llmos_shell.memory.store import Hit

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig
    from llmos_shell.memory.store import MemoryStore

# The memory's own tools: what they ran is no episode worth learning from.
MEMORY_TOOLS = frozenset({"remember", "recall", "forget"})
_THAT = re.compile(
    r"^\s*(?:that|it|this|the last (?:one|thing|memory)|what i just said)?\s*[.!]?\s*$", re.I
)
FORGET_FLOOR = 0.5


class Memory:
    """One store, and what llmos does with it."""

    def __init__(self, store: MemoryStore, *, pending: Path | None = None) -> None:
        """`pending`: the file where an episode waits for the next request's verdict (kept
        in this process without one)."""
        from llmos_shell.memory.learning import Learning

        self.store = store
        self._lock = threading.Lock()
        self.learning = Learning(self, pending)
        self._parsed: dict[str, list[Alias]] = {}  # a fact's id: the aliases it states
        self._vectors: dict[str, Any] = {}  # an alias's words: their vector

    def aliases(self) -> list[Alias]:
        """The names the person's facts give places, programs and preferences, newest last."""
        out: list[Alias] = []
        for record in self.store.records("fact"):
            if record.id not in self._parsed:
                self._parsed[record.id] = aliases_from_fact(record.text, record.id)
            out += self._parsed[record.id]
        return out

    def preferences(self) -> dict[str, str]:
        """The person's stated preferences ("size_unit": "MB"); a later fact wins."""
        return preferences_of(self.aliases())

    def _embed(self, texts: Sequence[str]) -> Any:
        """Vectors of texts; the aliases' words are embedded once per process."""
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            vectors = self.store.embedder.embed(missing)
            for text, vector in zip(missing, vectors, strict=True):
                self._vectors[text] = vector
        out = np.stack([self._vectors[t] for t in texts])
        if len(self._vectors) > 4096:
            self._vectors.clear()
        return out

    @property
    def location(self) -> str:
        """Where the memories are kept (a folder or a server's address)."""
        return self.store.location

    def pop_notices(self) -> list[str]:
        """The lines the person should read (an index rebuilt, a write not indexed yet)."""
        with self._lock:
            lines, self.store.notices[:] = list(self.store.notices), []
        return lines

    # -- what the person asks for ------------------------------------------------------------

    def remember(self, text: str, *, source: str = "person") -> MemoryRecord:
        """Store a fact or preference; MemoryRefused says why one is not stored."""
        text = re.sub(r"^\s*(?:please\s+)?remember\s+(?:that\s+)?", "", text, flags=re.I).strip()
        if not text:
            raise MemoryRefused(
                'there is nothing to remember; say what, e.g. "my projects are in ~/code"'
            )
        reason = secret_reason(text)
        if reason:
            raise MemoryRefused(f"not remembered: {reason}, and secrets are never stored")
        for hit in self.store.search(self.store.embed(text), kinds=["fact"], limit=1):
            if hit.record.text.strip().lower() == text.lower():
                return hit.record  # already known
        record = records.fact(text, source=source)
        self.store.add([record])
        return record

    def recall(
        self, query: str, *, limit: int = 5, kinds: Sequence[str] | None = None
    ) -> list[Hit]:
        """The memories closest to `query`, best first; for a question about the person as
        a whole ("me", "what do you know about me"), their facts, newest first."""
        if not query.strip():
            return []
        if about_the_person(query) and (kinds is None or "fact" in kinds):
            facts = self.store.records("fact")
            return [Hit(record, 1.0) for record in reversed(facts)][: max(limit, 20)]
        return self.store.search(self.store.embed(query), kinds=kinds, limit=limit)

    def about_you(self, query: str, hits: Sequence[Hit]) -> str:
        """For a question about the person as a whole, their facts in plain words ("my
        projects are in ~/code; I prefer sizes in MB."); else nothing."""
        if not about_the_person(query):
            return ""
        facts = [h.record.text.rstrip(".") for h in hits if h.record.kind == "fact"]
        return "; ".join(facts) + "." if facts else ""

    def forget(self, what: str = "") -> list[MemoryRecord]:
        """Forget by id, the latest fact ("that"), or the fact closest to the words."""
        what = what.strip()
        if what and self.store.get(what) is not None:
            target = self.store.get(what)
        elif _THAT.match(what):
            facts = self.store.records("fact") or self.store.records()
            target = facts[-1] if facts else None
        else:
            target = self._named_fact(what)
            if target is None:
                hits = self.store.search(self.store.embed(what), kinds=["fact"], limit=1)
                target = hits[0].record if hits and hits[0].score >= FORGET_FLOOR else None
        if target is None:
            return []
        self.store.forget([target.id])
        return [target]

    def _named_fact(self, what: str) -> MemoryRecord | None:
        """The fact whose alias `what` names by its value ("~/uni/thesis") or its words
        ("where my dissertation is"); the newest where several do."""
        aliases = self.aliases()
        ids = [a.memory_id for a in aliases if a.kind != "preference" and a.value in what]
        ids += [f.alias.memory_id for f in named_aliases(what, aliases, self._embed)]
        return self.store.get(ids[-1]) if ids else None

    def records(self, kind: str | None = None) -> list[MemoryRecord]:
        """Every memory (of one kind), oldest first."""
        return self.store.records(kind)

    # -- what planning learns ----------------------------------------------------------------

    def for_plan(
        self, request: str, *, context: str = "", tools: Container[str] | None = None
    ) -> PlanMemory:
        """The notes, examples and place names that memory adds to planning `request`."""
        return plan_memory(
            self.store,
            request,
            context=context,
            tools=tools,
            aliases=self.aliases(),
            embed=self._embed,
        )

    def record_episode(
        self, request: str, calls: list[dict[str, Any]], *, source: str = "shell"
    ) -> MemoryRecord | None:
        """Keep a request whose calls all ran and succeeded; None when it is not kept."""
        if not request.strip() or not calls or any(c["tool"] in MEMORY_TOOLS for c in calls):
            return None
        record = records.episode(request, calls, source=source)
        if secret_reason(record.text):
            return None
        for hit in self.store.search(self.store.embed(record.request), kinds=["episode"], limit=3):
            if hit.record.request.lower() == record.request.lower() and list(
                hit.record.calls
            ) == list(record.calls):
                return None  # known already
        return self._quietly_add(record)

    def record_correction(
        self,
        request: str,
        planned: dict[str, Any],
        edited: dict[str, Any],
        *,
        source: str = "shell",
    ) -> MemoryRecord | None:
        """Keep a planned call the person edited before it ran, with their edit."""
        if planned["tool"] in MEMORY_TOOLS or edited["tool"] in MEMORY_TOOLS:
            return None
        record = records.correction(request, planned, edited, source=source)
        if secret_reason(record.text):
            return None
        return self._quietly_add(record)

    def _quietly_add(self, record: MemoryRecord) -> MemoryRecord | None:
        try:
            self.store.add([record])
        except LlmosError as exc:
            self.store.notices.append(f"not remembered: {exc}")
            return None
        return record

    def close(self) -> None:
        """Let go of the store."""
        self.store.close()


def open_store(*, folder: Path, url: str = "", markers: StoreMarkers | None = None) -> MemoryStore:
    """The store at a Chroma server (`url`) or in a folder of this machine (checked against
    `markers`, what llmos last knew it held)."""
    from llmos_shell.retrieval.embeddings import shared_embedder

    try:
        embedder = shared_embedder()
    except LlmosError as exc:
        raise MemoryStoreError(f"memory needs the embedding model: {exc}") from None
    if url:
        from llmos_shell.memory.store import RemoteStore

        return RemoteStore(url, embedder)
    from llmos_shell.memory.store import LocalStore

    return LocalStore(folder, embedder, markers)


def memory_folder(data_dir: Path) -> Path:
    """Where a data dir keeps its memory."""
    return data_dir / "memory"


def open_memory(config: LoadedConfig, *, enabled: bool = True) -> Memory | None:
    """The memory the settings name, or None when it is off (`memory = false`, --no-memory)."""
    settings = config.settings
    if not enabled or not settings.memory:
        return None
    markers = StoreMarkers(config.paths.state_dir)
    folder = memory_folder(config.paths.data_dir)
    store = open_store(folder=folder, url=settings.memory_url, markers=markers)
    return Memory(store, pending=config.paths.state_dir / "memory-pending.json")
