"""Tidy the arguments a model wrote before they are shown or run.

Small models write what the person said: "here", "my downloads", "10 megs", "1 week".
Paths become ones the tools resolve the same way everywhere ("." for here, "~/Downloads"
for the downloads folder when no such folder is beside you), sizes and ages get one spelling
("10MB", "7d"). A value that cannot be read is left as it is, for the tool to explain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.vocabulary.places import HERE_PHRASES, HOME_FOLDERS, HOME_PHRASES
from llmos_shell.vocabulary.units import normalize_age, normalize_size

PATH_ARGS = frozenset({"path", "source", "destination", "cwd", "directory", "folder"})
SIZE_ARGS = frozenset({"min_size", "max_size", "size"})
AGE_ARGS = frozenset({"modified_within", "modified_before", "since", "older_than", "newer_than"})

_FOLDER_WORDS = re.compile(r"^(?:the\s+|my\s+)?([a-z]+?)(?:\s+(?:folder|directory|dir))?$")


def normalize_path(value: str, cwd: Path | None = None) -> str:
    """ "here" -> ".", "my home" -> "~", "downloads" -> "~/Downloads" when not beside you."""
    text = value.strip()
    lowered = " ".join(text.lower().split())
    if lowered in HERE_PHRASES:
        return "."
    if lowered in HOME_PHRASES or lowered in ("$home", "${home}"):
        return "~"
    for prefix in ("$HOME/", "${HOME}/"):
        if text.startswith(prefix):
            return "~/" + text[len(prefix) :]
    match = _FOLDER_WORDS.match(lowered)
    if match and match.group(1) in HOME_FOLDERS and "/" not in text:
        beside = (cwd or Path.cwd()) / text
        if not beside.exists():
            return HOME_FOLDERS[match.group(1)]
    return text


def normalize_arguments(call: ToolCall, cwd: Path | None = None) -> ToolCall:
    """The call with its paths, sizes and ages written the way the tools read them best."""
    fixed: dict[str, Any] = {}
    for name, value in call.arguments.items():
        if name in PATH_ARGS and isinstance(value, str) and value.strip():
            fixed[name] = normalize_path(value, cwd)
        elif name in SIZE_ARGS:
            fixed[name] = normalize_size(value)
        elif name in AGE_ARGS:
            fixed[name] = normalize_age(value)
        else:
            fixed[name] = value
    return call if fixed == dict(call.arguments) else ToolCall(call.tool, fixed)
