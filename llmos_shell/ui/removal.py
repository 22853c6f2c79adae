"""Safer equivalents offered at the prompt: the trash instead of `rm`, and what `rm` would take.

The policy stays pure; this is where the files a plain `rm` names are found and counted, so the
person sees how many files and how many bytes would go before saying yes, and can move them to
the trash (the built-in `delete_path` tool, freedesktop.org trash) instead.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from llmos_shell.calls import ToolCall
from llmos_shell.registry import Tool
from llmos_shell.safety.shell import analyse, plain_removal
from llmos_shell.vocabulary.units import human_size

TRASH_TOOL = "delete_path"  # the built-in tool that moves a path to the trash
_MAX_ENTRIES = 200_000  # counting stops here: the count is then a lower bound
_MAX_SECONDS = 2.0


@dataclass(frozen=True)
class RemovalPreview:
    """The existing paths a plain `rm` names, and what they hold."""

    paths: tuple[str, ...]  # absolute, in the order named, each once
    files: int
    folders: int
    size: int
    complete: bool  # False when counting stopped early; the numbers are then at least these
    folder: str  # where relative names were looked up

    def describe(self) -> str:
        """One sentence: how much would go, and from where."""
        at_least = "" if self.complete else "at least "
        files = f"{at_least}{self.files:,} file{'s' if self.files != 1 else ''}"
        folders = f" in {self.folders:,} folder{'s' if self.folders != 1 else ''}"
        where = f" from {self.folder}" if self.folder else ""
        return (
            f"This removes {files}{folders if self.folders else ''} "
            f"({at_least}{human_size(self.size)}){where}."
        )

    def trash_calls(self) -> tuple[ToolCall, ...]:
        """The same removal as calls that move each path to the trash, from where it returns."""
        return tuple(ToolCall(TRASH_TOOL, {"path": path}) for path in self.paths)


def removal_preview(call: ToolCall, tool: Tool) -> RemovalPreview | None:
    """What a shell call that is only `rm` of plain paths would remove, or None for any other."""
    if tool.shell_command_arg is None:
        return None
    command = call.arguments.get(tool.shell_command_arg)
    if not isinstance(command, str):
        return None
    removal = plain_removal(analyse(command))
    if removal is None:
        return None
    cwd = call.arguments.get("cwd")  # run_shell's working folder, when the call names one
    base = Path(os.path.expanduser(cwd)) if isinstance(cwd, str) and cwd.strip() else Path.cwd()
    paths: list[str] = []
    for target in removal.targets:
        pattern = os.path.expanduser(target)
        if not os.path.isabs(pattern):
            pattern = str(base / pattern)
        found = sorted(glob.glob(pattern)) if removal.globbed else [pattern]
        for path in found:
            if not os.path.lexists(path):
                continue
            if not removal.recursive and os.path.isdir(path) and not os.path.islink(path):
                continue  # rm without -r leaves folders where they are
            paths.append(os.path.abspath(path))
    paths = list(dict.fromkeys(paths))
    files, folders, size, complete = _count(paths, removal.recursive)
    return RemovalPreview(tuple(paths), files, folders, size, complete, str(base))


def _count(paths: list[str], recursive: bool) -> tuple[int, int, int, bool]:
    """Files, folders and bytes under `paths`, never following links, within a time limit."""
    files = folders = size = seen = 0
    deadline = time.monotonic() + _MAX_SECONDS
    stack = list(paths)
    while stack:
        path = stack.pop()
        seen += 1
        if seen > _MAX_ENTRIES or time.monotonic() > deadline:
            return files, folders, size, False
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            folders += 1
            if not recursive:
                continue  # rm without -r leaves folders alone
            try:
                with os.scandir(path) as entries:
                    stack += [entry.path for entry in entries]
            except OSError:
                continue
        else:
            files += 1
            size += info.st_size
    return files, folders, size, True
