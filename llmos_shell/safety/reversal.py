"""Reversing one recorded change: what the file system must look like first, and the inverse.

Every inverse checks the file system before it touches anything, and it never destroys what
it cannot bring back: contents are put back only over a file that is still exactly what llmos
wrote, and whatever an undo takes away (a copy, a file llmos created) goes to the trash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_shell.safety import trash

DIGEST_LIMIT = 50 * 10**6  # files up to this size are compared by SHA-256, bigger by size and time

Fingerprint = Mapping[str, Any]


def fingerprint(path: str | Path, *, digest: bool = True) -> dict[str, Any] | None:
    """What is at `path` now (not following a symbolic link), or None when nothing is."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return {"type": "unreadable"}
    mode = st.st_mode
    kind = (
        "symlink"
        if stat.S_ISLNK(mode)
        else "dir"
        if stat.S_ISDIR(mode)
        else "file"
        if stat.S_ISREG(mode)
        else "other"
    )
    found: dict[str, Any] = {
        "type": kind,
        "dev": st.st_dev,
        "ino": st.st_ino,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    if digest and kind == "file" and st.st_size <= DIGEST_LIMIT:
        found["sha256"] = _sha256(path)
    return found


def _sha256(path: str | Path) -> str | None:
    hasher = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
    except OSError:
        return None
    return hasher.hexdigest()


def same_item(a: Fingerprint | None, b: Fingerprint | None) -> bool:
    """Whether two fingerprints are of the same file system object (type, device, inode)."""
    if a is None or b is None:
        return a is None and b is None
    return all(a.get(key) == b.get(key) for key in ("type", "dev", "ino"))


def same_content(a: Fingerprint | None, b: Fingerprint | None) -> bool:
    """Whether two fingerprints show the same contents: by digest where both have one."""
    if a is None or b is None:
        return a is None and b is None
    if a.get("type") != b.get("type") or a.get("size") != b.get("size"):
        return False
    if a.get("sha256") and b.get("sha256"):
        return bool(a["sha256"] == b["sha256"])
    return bool(a.get("mtime_ns") == b.get("mtime_ns"))


@dataclass(frozen=True)
class Change:
    """One change to the file system as the journal holds it, and how it ended.

    `path` is what changed: the file written or created, a move's or a copy's destination,
    the path deleted. `source` is where a move or copy came from, `trashed` where a deleted
    item lies in the trash, `kept` the undo store's copy of contents that were replaced.
    """

    id: str
    action: str  # create, write, append, move, copy, trash
    path: str
    parent: str | None = None
    time: str = ""
    source: str = ""
    trashed: str = ""
    kept: str | None = None
    size: int | None = None  # an append's size before it
    link: str | None = None  # the text of a symbolic link a move replaced
    irreversible: str | None = None
    before: Fingerprint | None = None
    replaced: Fingerprint | None = None  # what a move or copy found at its destination
    state: str = "begun"  # begun, done, failed
    after: Fingerprint | None = None
    dropped: str | None = None  # why the kept contents are gone
    error: str = field(default="", compare=False)

    @property
    def changed_nothing(self) -> bool:
        """A failed change that left its path as it was: there is nothing to undo."""
        if self.state != "failed":
            return False
        return same_item(self.before, self.after) and same_content(self.before, self.after)

    def describe(self) -> str:
        """What the change did, in a few words."""
        if self.action == "create":
            return f"created {self.path}"
        if self.action == "write":
            return f"overwrote {self.path}"
        if self.action == "append":
            return f"appended to {self.path}"
        if self.action == "move":
            if Path(self.source).parent == Path(self.path).parent:
                return f"renamed {self.source} to {Path(self.path).name}"
            return f"moved {self.source} to {self.path}"
        if self.action == "copy":
            over = " over the file there" if self.replaced else ""
            return f"copied {self.source} to {self.path}{over}"
        if self.action == "trash":
            return f"deleted {self.path} (to the trash)"
        return f"{self.action} {self.path}"


def still(now: Fingerprint | None, then: Fingerprint | None) -> bool:
    """Whether what is there now is what was there then: the same object, or for a file the
    same contents (an undo that put back contents, or an editor saving, makes a new inode)."""
    if now is None or then is None:
        return False
    return same_item(now, then) or (now.get("type") == "file" and same_content(now, then))


def _now(path: str | Path, then: Fingerprint | None) -> dict[str, Any] | None:
    """What is at `path`, hashed only where the hash can tell: a file of the same size."""
    now = fingerprint(path, digest=False)
    if now is not None and then is not None and then.get("sha256"):
        if now["type"] == "file" and now["size"] == then.get("size"):
            now["sha256"] = _sha256(path)
    return now


def problem(change: Change, store: Path) -> str | None:
    """Why the file system no longer allows reversing `change`, or None when it does."""
    path = change.path
    now = _now(path, change.after)
    kept = store / change.kept if change.kept else None
    if kept is not None and not kept.is_file():
        return f"its previous contents are missing from {store}"
    if change.action == "trash":
        return _trash_problem(change)
    if now is None:
        return f"{path} is gone"
    after_type = (change.after or {}).get("type")
    if change.action != "move" and after_type == "file":
        # Contents are put back over it, or it goes to the trash: only as llmos left it.
        if not same_content(now, change.after):
            return f"{path} changed since llmos {_PAST[change.action]}"
    elif not still(now, change.after):
        return f"{path} is no longer what the {change.action} left there"
    if change.action == "move":
        if change.replaced is not None and same_item(change.replaced, change.after):
            return f"{change.source} did not end up at {path}"
        if os.path.lexists(change.source):
            return f"{change.source} exists again"
    return None


_PAST = {
    "create": "created it",
    "write": "wrote it",
    "append": "appended to it",
    "copy": "copied it there",
}


def _trash_problem(change: Change) -> str | None:
    now = _now(change.trashed, change.after)
    if now is None:
        return "it is no longer in the trash (restored already, or the trash was emptied)"
    if not still(now, change.after):
        return f"the trash entry {change.trashed} is another item now"
    target = Path(change.path)
    if os.path.lexists(target) and not (
        now["type"] == "dir" and target.is_dir() and not target.is_symlink()
    ):
        return f"{target} exists again"
    return None


def reverse(change: Change, store: Path) -> str:
    """Reverse `change` (checked by `problem` first) and say what was done.

    Raises OSError or trash.TrashError when the file system refuses part way.
    """
    path = Path(change.path)
    kept = store / change.kept if change.kept else None
    if change.action == "create":
        trash.put(path)
        return f"moved {path}, which llmos had created, to the trash"
    if change.action == "write" and kept is not None:
        _put_back(kept, path)
        return f"put back the previous contents of {path}"
    if change.action == "append" and change.size is not None:
        os.truncate(path, change.size)
        return f"removed what llmos had appended to {path}"
    if change.action == "move":
        source = Path(change.source)
        source.parent.mkdir(parents=True, exist_ok=True)
        trash.move_across(path, source)
        if kept is not None:
            _put_back(kept, path)
            return f"moved {path} back to {source} and put back the file it had replaced"
        if change.link is not None:
            os.symlink(change.link, path)
            return f"moved {path} back to {source} and put back the link it had replaced"
        return f"moved {path} back to {source}"
    if change.action == "copy":
        if kept is not None:
            _put_back(kept, path)
            return f"put back the file at {path} that the copy of {change.source} had replaced"
        trash.put(path)
        return f"moved the copy {path} to the trash"
    if change.action == "trash":
        merging = os.path.lexists(path)
        left = trash.take_out(Path(change.trashed), path)
        if not merging:
            return f"restored {path} from the trash"
        detail = f"restored {path} from the trash, merged into the folder there"
        if left:
            shown = ", ".join(left[:5]) + (f" and {len(left) - 5} more" if len(left) > 5 else "")
            detail += f"; {len(left)} item(s) whose name was taken stayed in the trash: {shown}"
        return detail
    raise OSError(f"llmos does not know how to reverse a {change.action!r} change")


def _put_back(kept: Path, target: Path) -> None:
    """Replace `target` with the kept contents in one step, then drop the kept copy."""
    temporary = target.with_name(f".{target.name}.llmos-undo-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copyfile(kept, temporary)
        shutil.copymode(kept, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    kept.unlink(missing_ok=True)
