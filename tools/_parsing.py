"""Helpers shared by the built-in tools: paths, times and OS errors as sentences.

Sizes and ages are read by `llmos_shell.vocabulary.units`, the one table of them.
"""

from __future__ import annotations

import errno
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal

from llmos_shell.errors import InvalidValueError, ToolError

_MAX_PATH_BYTES = 4096  # PATH_MAX on Linux; longer paths cannot be opened
_MAX_NAME_BYTES = 255  # NAME_MAX: the longest name of one file or folder


def current_folder() -> Path:
    """The current directory, or a ToolError when it was deleted or cannot be read."""
    try:
        return Path(os.getcwd())
    except OSError:
        raise ToolError(
            "the current folder no longer exists (it was deleted or moved); "
            "give an absolute path, or change to another folder"
        ) from None


def resolve_path(text: str) -> Path:
    """An absolute path from what was written: `~` expanded, relative to the current directory.

    Symlinks are not followed, so a link is named, not the file it points to. A path no file
    system can hold (a NUL byte, a lone surrogate, a name or path too long) is a ToolError.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidValueError("the path is empty; give one such as '~/Documents' or 'notes.txt'")
    text = text.strip()
    shown = text if len(text) <= 80 else text[:80] + "..."
    if "\0" in text:
        raise InvalidValueError(f"the path {shown!r} holds a NUL byte, which no file name can")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise InvalidValueError(
            f"the path {shown!r} holds characters that cannot be a file name (a lone surrogate)"
        ) from None
    expanded = os.path.expanduser(text)
    if not os.path.isabs(expanded):
        expanded = os.path.join(current_folder(), expanded)
    resolved = Path(os.path.normpath(expanded))
    encoded = os.fsencode(str(resolved))
    if len(encoded) >= _MAX_PATH_BYTES:
        raise InvalidValueError(
            f"the path {shown!r} is {len(encoded)} bytes long; paths can be at most "
            f"{_MAX_PATH_BYTES - 1}"
        )
    longest = max((part for part in resolved.parts), key=lambda p: len(os.fsencode(p)))
    if len(os.fsencode(longest)) > _MAX_NAME_BYTES:
        raise InvalidValueError(
            f"the path {shown!r} has a name of {len(os.fsencode(longest))} bytes; a file or "
            f"folder name can be at most {_MAX_NAME_BYTES}"
        )
    return resolved


def format_time(timestamp: float) -> str:
    """A POSIX time as local 'YYYY-MM-DD HH:MM', short enough for a listing."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def os_error(exc: OSError, path: Path | str, action: str) -> ToolError:
    """A model-facing sentence for an OSError met while doing `action` ("read", "list") on path."""
    code = exc.errno
    if code == errno.ENOENT:
        return ToolError(f"cannot {action} {path}: it does not exist")
    if code in (errno.EACCES, errno.EPERM):
        return ToolError(f"cannot {action} {path}: permission denied")
    if code == errno.ENOTDIR:
        return ToolError(f"cannot {action} {path}: a part of the path is not a directory")
    if code == errno.EISDIR:
        return ToolError(f"cannot {action} {path}: it is a directory")
    if code == errno.ENOSPC:
        return ToolError(f"cannot {action} {path}: the disk is full")
    if code == errno.EROFS:
        return ToolError(f"cannot {action} {path}: the file system is read-only")
    if code == errno.ENOTEMPTY:
        return ToolError(f"cannot {action} {path}: the directory is not empty")
    reason = exc.strerror or str(exc)
    return ToolError(f"cannot {action} {path}: {reason}")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words: a folder, a FIFO, a socket, a device."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(path: Path, write: Literal["overwrite", "append"] | None = None) -> BinaryIO:
    """Open a regular file to read (or to write), never a FIFO or a device, and never block.

    The type is checked before opening (opening some devices has effects) and again on the
    open file, which is opened non-blocking so that a FIFO swapped in meanwhile cannot hang.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        before = None
        if write is None:
            raise
    if before is not None and not stat.S_ISREG(before.st_mode):
        raise ToolError(f"{path} is {file_kind(before.st_mode)}, not a regular file")
    flags = os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if write is None:
        flags |= os.O_RDONLY
    else:
        flags |= os.O_WRONLY | os.O_CREAT | (os.O_APPEND if write == "append" else 0)
    fd = os.open(path, flags, 0o666)
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise ToolError(f"{path} is {file_kind(after.st_mode)}, not a regular file")
        if write == "overwrite":
            os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb" if write is None else "ab" if write == "append" else "wb")
    except BaseException:
        os.close(fd)
        raise
