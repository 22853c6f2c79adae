"""Tidy the arguments a model wrote before they are shown or run.

Small models write what the person said: "here", "my downloads", "10 megs", "1 week".
Paths become ones the tools resolve the same way everywhere ("." for here, "~/Downloads"
for the downloads folder when no such folder is beside you), sizes and ages get one spelling
("10MB", "7d"). A value that cannot be read is left as it is, for the tool to explain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.registry.kinds import Kind
from llmos_shell.vocabulary.places import HERE_PHRASES, HOME_FOLDERS, HOME_PHRASES
from llmos_shell.vocabulary.units import normalize_age, normalize_size

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


def normalize_arguments(
    call: ToolCall, kinds: Mapping[str, Kind], cwd: Path | None = None
) -> ToolCall:
    """The call with its paths, sizes and ages (by kind) written as the tools read them best."""
    fixed: dict[str, Any] = {}
    for name, value in call.arguments.items():
        kind = kinds.get(name)
        if kind is Kind.PATH and isinstance(value, str) and value.strip():
            fixed[name] = normalize_path(value, cwd)
        elif kind is Kind.SIZE:
            fixed[name] = normalize_size(value)
        elif kind is Kind.AGE:
            fixed[name] = normalize_age(value)
        else:
            fixed[name] = value
    return call if fixed == dict(call.arguments) else ToolCall(call.tool, fixed)
