"""Helpers shared by the built-in tools: paths, times and OS errors as sentences.

Sizes and ages are read by `llmos_shell.vocabulary.units`, the one table of them.
"""

from __future__ import annotations

import errno
import os
from datetime import datetime
from pathlib import Path

from llmos_shell.errors import InvalidValueError, ToolError


def resolve_path(text: str) -> Path:
    """An absolute path from what was written: `~` expanded, relative to the current directory.

    Symlinks are not followed, so a link is named, not the file it points to.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidValueError("the path is empty; give one such as '~/Documents' or 'notes.txt'")
    return Path(os.path.abspath(os.path.expanduser(text.strip())))


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
