"""The words for what a path is when it is not a plain file: a folder, a FIFO, a device.

Files llmos reads on its own (config.toml, a model) are checked with `os.stat` first, so that
a FIFO or a device is named in one sentence instead of blocking the read forever.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

_WORDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


def file_type_words(mode: int) -> str:
    """'a folder', 'a FIFO (named pipe)', 'a character device' and so on, for an st_mode."""
    return next((words for test, words in _WORDS if test(mode)), "an unknown kind of file")


def not_a_regular_file(path: str | os.PathLike[str]) -> str | None:
    """The words for what `path` is when it exists and is not a regular file, else None.

    Symbolic links are followed, as opening the path would follow them.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else file_type_words(mode)
