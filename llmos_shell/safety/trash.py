"""The freedesktop.org home trash as undo uses it: put a path in, take a trashed item back out.

The layout is the one the trash tools write (Trash/files/NAME beside Trash/info/NAME.trashinfo,
Trash specification 1.0), so what an undo puts in the trash is listed and restored by
`list_trash` and `restore_from_trash` like anything else deleted.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import urllib.parse
from datetime import datetime
from pathlib import Path

from llmos_shell.errors import TrashError


def trash_dir() -> Path:
    """The home trash: $XDG_DATA_HOME/Trash, by default ~/.local/share/Trash."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "Trash"


def info_file(trashed: Path) -> Path:
    """The .trashinfo file that belongs to a path under Trash/files."""
    return trashed.parent.parent / "info" / f"{trashed.name}.trashinfo"


def move_across(source: Path, target: Path) -> None:
    """Rename, falling back to copy-and-delete when the two are on different file systems."""
    try:
        os.rename(source, target)
    except OSError as exc:
        mode = os.lstat(source).st_mode
        special = not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))
        if exc.errno != errno.EXDEV or special:
            raise  # a FIFO or a device cannot be copied to another file system
        shutil.move(str(source), str(target))


def put(path: Path) -> Path:
    """Move `path` into the home trash and return where it lies there."""
    trash = trash_dir()
    try:
        for sub in ("files", "info"):
            (trash / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        name, fd = reserve_name(trash, path.name)
    except OSError as exc:
        raise TrashError(f"cannot use the trash folder {trash} ({exc.strerror})") from None
    trashed = trash / "files" / name
    quoted = urllib.parse.quote(os.fsencode(path), safe="/")
    deleted = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"[Trash Info]\nPath={quoted}\nDeletionDate={deleted}\n")
        move_across(path, trashed)
    except OSError as exc:
        info_file(trashed).unlink(missing_ok=True)
        raise TrashError(f"cannot move {path} to the trash ({exc.strerror})") from None
    return trashed


def reserve_name(trash: Path, name: str) -> tuple[str, int]:
    """A name free in both files/ and info/, claimed by creating its .trashinfo exclusively."""
    stem, suffix = os.path.splitext(name)
    number = 1
    while True:
        candidate = name if number == 1 else f"{stem}.{number}{suffix}"
        number += 1
        if os.path.lexists(trash / "files" / candidate):
            continue
        try:
            fd = os.open(
                trash / "info" / f"{candidate}.trashinfo",
                os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                0o600,
            )
        except FileExistsError:
            continue
        return candidate, fd


def _is_real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def take_out(trashed: Path, target: Path) -> list[str]:
    """Move a trashed item back to `target`; returns what had to stay in the trash.

    When `target` is a folder again (a file from it was restored first, say) and the trashed
    item is a folder, the two are merged: every entry whose name is free goes back, and the
    entries whose name is taken stay in the trash, listed in the answer.
    """
    if not os.path.lexists(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        move_across(trashed, target)
        info_file(trashed).unlink(missing_ok=True)
        return []
    if not (_is_real_dir(trashed) and _is_real_dir(target)):
        raise TrashError(f"{target} exists again, so the trashed one cannot go back there")
    left: list[str] = []
    _merge(trashed, target, "", left)
    if not os.path.lexists(trashed):
        info_file(trashed).unlink(missing_ok=True)
    return left


def _merge(source: Path, target: Path, relative: str, left: list[str]) -> None:
    with os.scandir(source) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        here, there = Path(entry.path), target / entry.name
        shown = f"{relative}{entry.name}"
        if not os.path.lexists(there):
            move_across(here, there)
        elif _is_real_dir(here) and _is_real_dir(there):
            _merge(here, there, f"{shown}/", left)
        else:
            left.append(shown)
    try:
        os.rmdir(source)
    except OSError:
        pass  # something stayed behind; it is listed in `left`
