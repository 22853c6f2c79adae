"""Whether a call would replace what a file holds: a write over existing content is destructive.

A tool's declared risk says what it may do; what one call does can depend on its arguments
and on the disk (`write_file` to a new file is a write, to an existing one it destroys the
old text, as the shell's `>` does). A tool says so with `@tool(risk_for=...)`: a function of
the call's arguments and the folder the call runs in that returns a `CallRisk` when this call
is riskier than declared. A write tool that declares none is judged by one rule on its kinds:
its first path argument (the one it writes, as for the policy's catastrophe check) naming a
file that holds content makes the call destructive.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Risk
from llmos_shell.registry.kinds import Kind

if TYPE_CHECKING:
    from llmos_shell.registry.tool import Tool


@dataclass(frozen=True)
class CallRisk:
    """The risk of one call when it differs from its tool's, and why ("it replaces x.txt")."""

    risk: Risk
    reason: str


RiskFor = Callable[[Mapping[str, Any], Path], "CallRisk | None"]


def resolve(text: str, folder: Path) -> Path:
    """A path as a tool running in `folder` reads it: `~` expanded, relative to the folder."""
    path = Path(os.path.expanduser(text.strip()))
    return path if path.is_absolute() else folder / path


def holds_content(path: Path) -> bool:
    """Whether writing to `path` would replace something: a non-empty file, a link, a
    special file, or a folder with entries."""
    try:
        info = path.lstat()
    except (OSError, ValueError):
        return False
    if stat.S_ISREG(info.st_mode):
        return info.st_size > 0
    if stat.S_ISDIR(info.st_mode):
        try:
            return any(os.scandir(path))
        except OSError:
            return True
    return True


def replaced(text: str, folder: Path) -> CallRisk | None:
    """Destructive when the path `text` names holds content a write would replace."""
    target = resolve(text, folder)
    if holds_content(target):
        return CallRisk(Risk.DESTRUCTIVE, f"it would overwrite {text}, which already exists")
    return None


def call_risk(
    tool: Tool, arguments: Mapping[str, Any], folder: str | None = None
) -> CallRisk | None:
    """What makes this call riskier than its tool's declared risk, or None.

    Only write tools are judged (a read changes nothing; a destructive tool is already rated
    so). A hook that fails leaves the call unknown: what it does could not be told.
    """
    if tool.risk is not Risk.WRITE or not tool.executable:
        return None
    where = Path(folder) if folder else Path.cwd()
    if tool.risk_for is not None:
        try:
            values = tool.validate(arguments).model_dump()
        except Exception:
            return None  # arguments that do not fit never run; the executor says why
        try:
            found = tool.risk_for(values, where)
        except Exception as exc:
            reason = f"{tool.name} could not tell what it would overwrite ({type(exc).__name__})"
            return CallRisk(Risk.UNKNOWN, reason)
        if found is not None and found.risk.rank > tool.risk.rank:
            return found
        return None
    for name, kind in tool.kinds.items():
        if kind is Kind.PATH and isinstance(arguments.get(name), str) and arguments[name].strip():
            return replaced(arguments[name], where)
    return None
