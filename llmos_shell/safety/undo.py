"""The undo journal: what llmos changes, recorded before it changes it, and the undo itself.

`<state dir>/undo.jsonl` holds one JSON object a line. `Session.run_call` writes a *call*
line before any call that is not read-only runs, and an *end* line after it. The file tools
wrap each change in one of the hooks below (`writing`, `moving`, `copying`, `trashing`),
which writes a *change* line saying how to reverse it, and keeps the previous contents of a
file about to be replaced in `<state dir>/undo/`, before anything is touched; a *done* or
*failed* line with a fingerprint of the result follows. A crash in between leaves a change
that says it never finished, which is never undone: the journal does not claim what it does
not know. A call with no change lines (a shell command, a plugin's tool) is listed as one
that cannot be undone, with the reason.

Limits: previous contents are kept for files up to `KEEP_FILE_BYTES` (a bigger file's
overwrite is recorded as one that cannot be undone), and up to `KEEP_TOTAL_BYTES` in all
(the oldest are dropped first, and their actions say so); once the journal passes
`COMPACT_AT_BYTES` it keeps only the last `KEEP_ACTIONS` actions.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import functools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic

from llmos_shell.calls import Risk, ToolCall, ToolResult
from llmos_shell.errors import (
    JournalError,
    ToolError,
    TrashError,
)
from llmos_shell.registry import Tool, tool
from llmos_shell.safety.journal import Record, assemble
from llmos_shell.safety.reversal import fingerprint, problem, reverse
from llmos_shell.vocabulary.units import human_size

KEEP_FILE_BYTES = 50 * 10**6
KEEP_TOTAL_BYTES = 500 * 10**6
KEEP_ACTIONS = 500
COMPACT_AT_BYTES = 2 * 10**6
_SHOWN_CHARS = 200  # of each argument and request kept in the journal
UNDO_TOOL = "undo"


def limits_text() -> str:
    """The journal's limits, as README and `llmos undo --list` state them."""
    return (
        f"previous contents are kept for files up to {human_size(KEEP_FILE_BYTES)}, "
        f"{human_size(KEEP_TOTAL_BYTES)} in all (the oldest are dropped first); "
        f"the journal keeps the last {KEEP_ACTIONS} actions"
    )


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return value[:_SHOWN_CHARS] + f"... ({len(value) - _SHOWN_CHARS} more characters)"
    if isinstance(value, dict):
        return {key: _clip(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clip(item) for item in value[:20]]
    return value


class UndoJournal:
    """The journal file, the store of previous contents beside it, and undoing from them."""

    def __init__(self, path: Path) -> None:
        """`path` is the journal file; the store of previous contents is the folder beside it
        named like it without the suffix."""
        self.path = path
        self.store = path.with_suffix("")
        self._lock_path = path.with_suffix(".lock")

    @classmethod
    def default(cls) -> UndoJournal:
        """The journal in the state dir of this process's settings (`LLMOS_STATE_DIR`)."""
        from llmos_shell.config.settings import Paths

        return cls(Paths.from_env().undo_journal)

    # -- writing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Across processes: one writer of the journal at a time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def append(self, *events: dict[str, Any]) -> None:
        """Add lines and wait until they are on disk; raises OSError when they cannot be."""
        data = "".join(json.dumps(e, default=str) + "\n" for e in events).encode("ascii")
        with self._locked():
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > COMPACT_AT_BYTES:
                self._compact()

    def _compact(self) -> None:
        """Keep the last KEEP_ACTIONS actions, and only the kept contents they refer to."""
        events = self.events()
        order: list[str] = []
        owner: dict[str, str] = {}
        for event in events:
            key = event["id"]
            if event["event"] == "call" or (event["event"] == "change" and key not in owner):
                parent = event.get("parent") if event["event"] == "change" else None
                owner[key] = parent if parent in owner else key
                if owner[key] == key:
                    order.append(key)
        kept_records = set(order[-KEEP_ACTIONS:])
        lines = [e for e in events if owner.get(e["id"], e["id"]) in kept_records]
        temporary = self.path.with_name(f"{self.path.name}.{_new_id()}")
        with open(temporary, "w", encoding="ascii") as handle:
            handle.writelines(json.dumps(e, default=str) + "\n" for e in lines)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        referenced = {e.get("kept") for e in lines if e["event"] == "change"}
        with contextlib.suppress(OSError):
            for item in self.store.iterdir():
                if item.name not in referenced:
                    item.unlink(missing_ok=True)

    def keep(self, path: Path, name: str) -> tuple[str | None, str | None]:
        """Copy a file's contents into the store as `name`: (name, None), or (None, why not)."""
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            return None, f"the contents of {path} could not be kept ({exc.strerror})"
        if size > KEEP_FILE_BYTES:
            return None, (
                f"{path} held {human_size(size)}, more than the {human_size(KEEP_FILE_BYTES)} "
                "kept for undo"
            )
        kept = self.store / name
        try:
            self.store.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._make_room(size)
            with open(path, "rb") as source, open(kept, "xb") as copy:
                shutil.copyfileobj(source, copy)
                copy.flush()
                os.fsync(copy.fileno())
            shutil.copymode(path, kept)
        except OSError as exc:
            with contextlib.suppress(OSError):
                kept.unlink(missing_ok=True)
            return None, f"the contents of {path} could not be kept ({exc.strerror})"
        return name, None

    def _make_room(self, size: int) -> None:
        """Drop the oldest kept contents until `size` more bytes fit under KEEP_TOTAL_BYTES."""
        items = []
        for item in self.store.iterdir():
            with contextlib.suppress(OSError):
                st = item.stat()
                items.append((st.st_mtime_ns, st.st_size, item))
        total = sum(item_size for _, item_size, _ in items)
        reason = (
            "its previous contents were dropped to keep the undo store under "
            f"{human_size(KEEP_TOTAL_BYTES)}"
        )
        dropped = []
        for _, item_size, item in sorted(items, key=lambda entry: entry[0]):
            if total + size <= KEEP_TOTAL_BYTES:
                break
            item.unlink(missing_ok=True)
            total -= item_size
            dropped.append({"event": "dropped", "id": item.name, "reason": reason})
        if dropped:
            self.append(*dropped)

    # -- reading -------------------------------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        """Every well-formed line, oldest first (a damaged line is skipped)."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("id"), str) and "event" in event:
                events.append(event)
        return events

    def records(self) -> list[Record]:
        """The actions in the journal, oldest first."""
        return assemble(self.events())

    def listing(self) -> list[dict[str, Any]]:
        """Every action, newest first, with whether it can be undone now and why not."""
        rows = []
        for record in reversed(self.records()):
            if not record.visible:
                continue
            row: dict[str, Any] = {
                "id": record.id,
                "time": record.time,
                "action": record.describe(),
            }
            if record.request:
                row["request"] = record.request
            if record.undone is not None:
                row.update(status="undone", detail=record.undone)
            elif record.passed is not None:
                row.update(status="not undone", reason=record.passed)
            elif (reason := self._reason(record)) is not None:
                row.update(status="cannot be undone", reason=reason)
            else:
                row["status"] = "can be undone"
            rows.append(row)
        return rows

    def _reason(self, record: Record) -> str | None:
        """Why `record` cannot be undone now: from the journal, then from the file system."""
        reason = record.recorded_reason(self.store)
        if reason is None:
            for change in reversed(record.changes_made):
                if (reason := problem(change, self.store)) is not None:
                    break
        return reason

    # -- undoing -------------------------------------------------------------------------------

    def undo(self, count: int = 1) -> dict[str, Any]:
        """Reverse the last `count` actions that can be reversed, newest first.

        An action that cannot be undone (the journal says so, or the file system no longer
        allows it) is reported, marked so that the next undo does not report it again, and
        passed over.
        """
        results: list[dict[str, Any]] = []
        done = 0
        for record in reversed(self.records()):
            if done >= count:
                break
            if record.undone is not None or record.passed is not None or not record.visible:
                continue
            action = record.describe()
            reason = self._reason(record)
            details: list[str] = []
            if reason is None:
                # Written first, so that an undo cut short says so instead of passing as none.
                self.append({"event": "undoing", "id": record.id, "time": _now()})
                try:
                    details = [reverse(c, self.store) for c in reversed(record.changes_made)]
                except (OSError, TrashError) as exc:
                    reason = f"undoing it failed part way ({getattr(exc, 'strerror', None) or exc})"
            if reason is not None:
                self.append({"event": "passed", "id": record.id, "time": _now(), "reason": reason})
                results.append({"action": action, "undone": False, "reason": reason})
                continue
            detail = "; ".join(details)
            self.append({"event": "undone", "id": record.id, "time": _now(), "detail": detail})
            results.append(
                {
                    "action": action,
                    "undone": True,
                    "detail": detail,
                    "request": record.request,
                    "call": {"tool": record.tool, "arguments": record.arguments},
                }
            )
            done += 1
        return {"undone": done, "asked": count, "results": results, "journal": str(self.path)}

    @functools.cached_property
    def tool(self) -> Tool:
        """The undo as a tool: run through `Session.run_call`, never offered to the model."""
        journal = self

        def undo(
            count: int = pydantic.Field(
                1, ge=1, le=KEEP_ACTIONS, description="how many actions to reverse"
            ),
        ) -> dict[str, Any]:
            """Reverse the last changes llmos made, newest first."""
            try:
                return journal.undo(count)
            except OSError as exc:
                raise ToolError(
                    f"cannot use the undo journal {journal.path} ({exc.strerror or exc})"
                ) from None

        made: Tool = tool(undo, risk=Risk.WRITE, name=UNDO_TOOL, reversible=False)
        return replace(made, source="llmos")

    # -- calls ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def calling(
        self, request: str, call: ToolCall, item: Tool
    ) -> Iterator[Callable[[ToolResult], None]]:
        """Around one call that is not read-only: its call line before, its end line after.

        The changes the tool records meanwhile (in this thread or in the executor's, which
        runs in a copy of this context) are filed under the call.
        """
        stamp = _Stamp(self, _new_id())
        try:
            self.append(
                {
                    "event": "call",
                    "id": stamp.id,
                    "time": _now(),
                    "request": _clip(request),
                    "tool": call.tool,
                    "arguments": _clip(call.arguments),
                    "shell": item.shell_command_arg is not None,
                    "reversible": item.reversible,
                }
            )
            recorded = True
        except OSError:
            recorded = False  # the call still runs; the file tools then refuse to change files

        def finish(result: ToolResult) -> None:
            if recorded:
                with contextlib.suppress(OSError):
                    self.append(
                        {
                            "event": "end",
                            "id": stamp.id,
                            "ok": result.ok,
                            "error": _clip(result.error),
                        }
                    )

        token = _CURRENT.set(stamp if recorded else None)
        try:
            yield finish
        finally:
            _CURRENT.reset(token)


@dataclass
class _Stamp:
    """The call a tool runs for, so that its changes are filed under it."""

    journal: UndoJournal
    id: str


_CURRENT: contextvars.ContextVar[_Stamp | None] = contextvars.ContextVar(
    "llmos_undo_call", default=None
)


def current_call() -> tuple[str, str] | None:
    """The journal file and call id changes are filed under now, to pass to another process."""
    stamp = _CURRENT.get()
    return None if stamp is None else (str(stamp.journal.path), stamp.id)


@contextlib.contextmanager
def filed_under(call: tuple[str, str] | None) -> Iterator[None]:
    """In another process: file the changes made meanwhile under `call` (from current_call)."""
    if call is None:
        yield
        return
    token = _CURRENT.set(_Stamp(UndoJournal(Path(call[0])), call[1]))
    try:
        yield
    finally:
        _CURRENT.reset(token)


# --- the hooks the file tools wrap their changes in -------------------------------------------


def _active() -> tuple[UndoJournal, str | None]:
    stamp = _CURRENT.get()
    if stamp is not None:
        return stamp.journal, stamp.id
    return UndoJournal.default(), None


@contextlib.contextmanager
def _recorded(
    journal: UndoJournal, parent: str | None, change_id: str, fields: dict[str, Any], result: Path
) -> Iterator[None]:
    """Write the change line, run the change, then say how it ended and what it left."""
    event = {"event": "change", "id": change_id, "parent": parent, "time": _now(), **fields}
    try:
        journal.append(event)
    except OSError as exc:
        if fields.get("kept"):
            with contextlib.suppress(OSError):
                (journal.store / fields["kept"]).unlink(missing_ok=True)
        raise JournalError(
            f"the undo journal {journal.path} cannot be written ({exc.strerror or exc}), "
            "so nothing was changed"
        ) from None
    try:
        yield
    except BaseException as exc:
        _ended(journal, change_id, "failed", result, error=f"{type(exc).__name__}: {exc}")
        raise
    _ended(journal, change_id, "done", result)


def _ended(journal: UndoJournal, change_id: str, state: str, result: Path, error: str = "") -> None:
    # Should this line not reach the disk, the change reads as never finished: true, as far
    # as the journal knows, and never undone.
    event = {"event": state, "id": change_id, "after": fingerprint(result)}
    if error:
        event["error"] = _clip(error)
    with contextlib.suppress(OSError):
        journal.append(event)


def _replaced(journal: UndoJournal, target: Path, change_id: str, *, move: bool) -> dict[str, Any]:
    """What a move or copy must record about what it is about to replace at `target`."""
    found = fingerprint(target, digest=False)
    fields: dict[str, Any] = {"before": found}
    if found is None:
        return fields
    fields["replaced"] = found
    if found["type"] == "file":
        kept, why_not = journal.keep(target, change_id)
        fields.update(kept=kept, irreversible=why_not)
    elif found["type"] == "symlink" and move:
        fields["link"] = os.readlink(target)
    elif found["type"] == "dir":
        fields["irreversible"] = (
            f"it was {'moved' if move else 'copied'} into the existing folder {target}, "
            "merging the two, and what it replaced there is not kept"
        )
    else:
        kind = "a symbolic link" if found["type"] == "symlink" else "not a regular file"
        fields["irreversible"] = f"{target} was {kind}, and what was written over it is not kept"
    return fields


@contextlib.contextmanager
def writing(path: Path, *, append: bool = False) -> Iterator[None]:
    """Around writing to `path`: keeps what was there (or notes that nothing was) first."""
    journal, parent = _active()
    change_id = _new_id()
    target = Path(os.path.realpath(path))  # a write goes through a symbolic link
    before = fingerprint(target, digest=False)
    fields: dict[str, Any] = {"path": str(target), "before": before}
    if before is None:
        fields["action"] = "create"
    elif before["type"] != "file":
        fields.update(action="write", irreversible=f"{target} is not a regular file")
    elif append:
        fields.update(action="append", size=before["size"])
    else:
        kept, why_not = journal.keep(target, change_id)
        fields.update(action="write", kept=kept, irreversible=why_not)
    with _recorded(journal, parent, change_id, fields, target):
        yield


@contextlib.contextmanager
def moving(source: Path, target: Path) -> Iterator[None]:
    """Around moving or renaming `source` to `target` (the destination path itself)."""
    journal, parent = _active()
    change_id = _new_id()
    fields: dict[str, Any] = {
        "action": "move",
        "path": str(target),
        "source": str(source),
        **_replaced(journal, target, change_id, move=True),
    }
    with _recorded(journal, parent, change_id, fields, target):
        yield


@contextlib.contextmanager
def copying(source: Path, target: Path) -> Iterator[None]:
    """Around copying `source` to `target` (the destination path itself)."""
    journal, parent = _active()
    change_id = _new_id()
    fields: dict[str, Any] = {
        "action": "copy",
        "path": str(target),
        "source": str(source),
        **_replaced(journal, target, change_id, move=False),
    }
    with _recorded(journal, parent, change_id, fields, target):
        yield


@contextlib.contextmanager
def trashing(path: Path, trashed: Path) -> Iterator[None]:
    """Around moving `path` into the trash as `trashed` (its place under Trash/files)."""
    journal, parent = _active()
    fields = {
        "action": "trash",
        "path": str(path),
        "trashed": str(trashed),
        "before": fingerprint(trashed, digest=False),
    }
    with _recorded(journal, parent, _new_id(), fields, trashed):
        yield
