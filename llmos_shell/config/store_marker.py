"""What llmos last knew its stores held, so a store that went missing is said to be damaged.

A job store or memory store that is emptied, truncated (`: > jobs.sqlite`) or replaced by
another would otherwise read as new: "No automations yet", and the person's jobs vanish with
no word. Each store keeps an identity (a random id written inside it); this file in the state
folder keeps, per store, that identity, how many records it held, and a copy of what those
records were where they are small (the automations' specs). A store whose identity changed,
or that is empty where it held records, is damaged: the caller refuses to use it and says
how to restore it or start afresh.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER_FILE = "stores.json"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Damage:
    """A store that no longer holds what it held: how many records, and the copy kept."""

    store: str
    held: int
    now: str  # "is empty" or "is another store (its identity changed)"
    backup: tuple[str, ...]
    marker: Path

    def sentence(self, kind: str, restore: str, otherwise: str = "") -> str:
        """One sentence: what happened, and the fix (`restore`: how to put the copy back;
        `otherwise`: the fix when no copy was kept)."""
        fix = (
            f"{restore} puts back the {len(self.backup)} kept in {self.marker}"
            if self.backup
            else otherwise or "move the old file back from a backup"
        )
        return (
            f"the {kind} {self.store} is damaged: it held {self.held} record(s) when llmos last "
            f"used it, but now it {self.now} (truncated, emptied or replaced); {fix}, or to "
            f"start afresh remove its entry from {self.marker}"
        )


class StoreMarkers:
    """The marker file in the state folder: per store, its identity, count and backup."""

    def __init__(self, state_dir: Path) -> None:
        """`state_dir`: where the marker file lives."""
        self.path = state_dir / MARKER_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def check(self, store: str, identity: str | None, count: int) -> Damage | None:
        """The damage when `store` (now `identity`, holding `count`) lost what it held."""
        entry = self._read().get(store)
        if not isinstance(entry, dict) or not int(entry.get("count", 0)):
            return None  # never seen, or it held nothing: nothing can have been lost
        if identity is not None and identity != entry.get("identity"):
            now = "is another store (its identity changed)"
        elif identity is None or count == 0:
            now = "is empty"
        else:
            return None
        backup = tuple(str(item) for item in entry.get("backup", ()))
        return Damage(store, int(entry["count"]), now, backup, self.path)

    def record(
        self, store: str, identity: str, count: int, backup: Sequence[str] | None = None
    ) -> None:
        """Note what `store` holds now (and a copy of its records, when given)."""
        with _LOCK:
            data = self._read()
            entry: dict[str, Any] = {"identity": identity, "count": count}
            if backup is not None:
                entry["backup"] = list(backup)
            if data.get(store) == entry:
                return
            data[store] = entry
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                temporary = self.path.with_name(f".{MARKER_FILE}.{os.getpid()}.tmp")
                temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
                os.replace(temporary, self.path)
            except OSError:
                pass  # the marker is a safeguard: a store still works without it

    def kept(self, store: str) -> tuple[str, tuple[str, ...]] | None:
        """The identity and the copy of the records last noted for `store`, if any."""
        entry = self._read().get(store)
        if not isinstance(entry, dict) or "identity" not in entry:
            return None
        return str(entry["identity"]), tuple(str(item) for item in entry.get("backup", ()))

    def forget(self, store: str) -> None:
        """Drop what was known about `store` (the person chose to start it afresh)."""
        with _LOCK:
            data = self._read()
            if data.pop(store, None) is not None:
                self.path.write_text(json.dumps(data, indent=1), encoding="utf-8")
