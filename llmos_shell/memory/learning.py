"""Which episodes memory learns from: the ones the person confirmed.

An episode (a request whose calls all ran and succeeded) teaches later plans only when it
was what the person wanted: a call they approved is kept at once; any other waits until the
next request says how it went. An undo, or the same request asked again in other words (a
rephrase: close in meaning, different in words, and not a follow-up such as "the same for
Downloads"), demotes it: it is not kept, or forgotten where it was. Anything else confirms
it. The waiting episode lives in one small file, so the next request may come from another
process (a one-shot after a one-shot). Pasted junk is never an episode.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.vocabulary.references import reads_as_follow_up

if TYPE_CHECKING:
    from llmos_shell.memory.service import Memory

# Cosine similarity from which a new request is the last one asked again in other words.
# all-MiniLM-L6-v2: rephrasings of one request ("move the recipe from downloads into
# documents" / "mv Downloads/recipe.txt Documents/") score 0.80-0.89, different requests
# about the same thing ("search for ERROR in app.log" / "how many lines in app.log") 0.6.
REPHRASE_FLOOR = 0.7
# After this long, the next request is no longer read as a verdict on the last one.
SETTLE_AFTER_S = 3600.0
MAX_REQUEST_CHARS = 300  # longer is pasted text, not a request to learn from
_LETTERS = re.compile(r"[^\W\d_]{2,}")  # a word, or a path or name with one in it
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Pending:
    """The last episode, waiting for the next request's verdict."""

    request: str
    calls: list[dict[str, Any]]
    time: float
    stored_id: str = ""  # kept already (the person approved it): forgotten if demoted


def is_junk(request: str) -> bool:
    """Whether a request is pasted text rather than words to learn from: several lines, very
    long, or mostly tokens that are not words (a log line, a hash, a stack trace)."""
    if "\n" in request.strip() or len(request) > MAX_REQUEST_CHARS:
        return True
    tokens = _TOKEN.findall(request)
    words = [t for t in tokens if _LETTERS.search(t)]
    return not tokens or len(words) < len(tokens) / 2


class Learning:
    """The episode waiting for a verdict, and the verdicts."""

    def __init__(self, memory: Memory, path: Path | None = None) -> None:
        self.memory = memory
        self.path = path
        self._pending: Pending | None = None

    # -- the waiting episode -----------------------------------------------------------------

    def pending(self) -> Pending | None:
        """The episode waiting for a verdict, if any."""
        if self.path is None:
            return self._pending
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return Pending(**data)
        except (OSError, ValueError, TypeError):
            return None

    def _keep(self, pending: Pending | None) -> None:
        self._pending = pending
        if self.path is None:
            return
        try:
            if pending is None:
                self.path.unlink(missing_ok=True)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(asdict(pending)), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:
            self.memory.store.notices.append(
                f"what was learned from the last request is not kept ({exc.strerror or exc})"
            )

    # -- verdicts ------------------------------------------------------------------------------

    def settle(self, request: str, *, undo: bool = False) -> str | None:
        """Give the waiting episode the verdict `request` implies; returns "demoted" or
        "confirmed" (None when nothing was waiting)."""
        pending = self.pending()
        if pending is None:
            return None
        self._keep(None)
        late = time.time() - pending.time > SETTLE_AFTER_S
        if not late and (undo or self.rephrases(request, pending.request)):
            if pending.stored_id:
                self.memory.store.forget([pending.stored_id])
            return "demoted"
        if not pending.stored_id:
            self.memory.record_episode(pending.request, pending.calls)
        return "confirmed"

    def rephrases(self, request: str, before: str) -> bool:
        """Whether `request` asks `before` again in other words."""
        if " ".join(request.lower().split()) == " ".join(before.lower().split()):
            return False  # the same words again: asked again, not corrected
        if reads_as_follow_up(request) or is_junk(request):
            return False
        vectors = self.memory.store.embedder.embed([request, before])
        return float(vectors[0] @ vectors[1]) >= REPHRASE_FLOOR

    def ran(self, request: str, calls: list[dict[str, Any]], *, approved: bool) -> None:
        """A request's calls all ran and succeeded: kept now if the person approved them,
        else waiting for the next request."""
        if is_junk(request) or not calls:
            return
        stored = self.memory.record_episode(request, calls) if approved else None
        if approved and stored is None:
            return  # not kept (known already, or a secret): nothing to demote later
        self._keep(Pending(request, calls, time.time(), stored.id if stored else ""))

    def undone(self, actions: list[dict[str, Any]]) -> list[str]:
        """Demote the episodes whose calls an undo reversed (any process's); their ids."""
        gone: list[str] = []
        wanted = [
            (str(a.get("request", "")).strip().lower(), a.get("call"))
            for a in actions
            if a.get("undone") and a.get("call")
        ]
        if not wanted:
            return gone
        for record in self.memory.store.records("episode"):
            for request, call in wanted:
                if record.request.strip().lower() == request and call in record.calls:
                    gone.append(record.id)
        if gone:
            self.memory.store.forget(gone)
        return gone
