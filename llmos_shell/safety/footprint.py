"""How much a call would touch: the count and size of everything under a folder it names.

A delete or a move of a folder takes everything in it, so before the person says yes they
see it in one line ("this moves the whole folder Downloads: 8 items, 330 MB"). Pure reads of
the file system, bounded so a huge tree is counted only so far; keyed on argument kinds and
risk, never on a tool's name, so every tool (a plugin's too) gets the same line.
"""

from __future__ import annotations

import os
from pathlib import Path

from llmos_shell.calls import Risk, ToolCall
from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind
from llmos_shell.vocabulary.units import human_size

MAX_COUNTED = 100_000  # entries counted before the count is given as "at least"


def footprint(path: str | os.PathLike[str], limit: int = MAX_COUNTED) -> tuple[int, int]:
    """(items, bytes) under `path`: every file, folder and link inside it, not following
    links; a file is (1, its size). Unreadable parts are skipped; counting stops at `limit`."""
    root = Path(os.path.expanduser(os.fspath(path)))
    try:
        st = root.lstat()
    except OSError:
        return 0, 0
    if not root.is_dir() or root.is_symlink():
        return 1, st.st_size
    items = size = 0
    stack = [root]
    while stack and items < limit:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    items += 1
                    try:
                        est = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        size += est.st_size
        except OSError:
            continue
    return items, size


def moves_or_removes(tool: Tool) -> bool:
    """Whether a call of `tool` takes things away from where they are: a destructive tool,
    or a writing one with two paths (from, to)."""
    paths = [name for name, kind in tool.kinds.items() if kind is Kind.PATH]
    return bool(paths) and (
        tool.risk is Risk.DESTRUCTIVE or (tool.risk is Risk.WRITE and len(paths) >= 2)
    )


def target_path(call: ToolCall, tool: Tool) -> str | None:
    """The path a moving or removing call takes away: its first path argument."""
    for name, kind in tool.kinds.items():
        if kind is Kind.PATH and isinstance(call.arguments.get(name), str):
            return str(call.arguments[name])
    return None


def footprint_line(call: ToolCall, tool: Tool, folder: str | None = None) -> str | None:
    """The line a confirmation shows when the call moves or removes a whole folder, else None."""
    if not moves_or_removes(tool):
        return None
    value = target_path(call, tool)
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    if not path.is_absolute():
        path = Path(folder or os.getcwd()) / path
    if not path.is_dir() or path.is_symlink():
        return None
    items, size = footprint(path)
    more = "at least " if items >= MAX_COUNTED else ""
    verb = "deletes" if tool.risk is Risk.DESTRUCTIVE else "moves"
    noun = "item" if items == 1 else "items"
    return f"this {verb} the whole folder {path.name or path}: {more}{items} {noun}, {human_size(size)}"
