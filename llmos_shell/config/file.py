"""Changing a few top-level keys of the TOML config file in place, comments and all."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

from llmos_shell.config.settings import read_config_text
from llmos_shell.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TABLE_HEADER = re.compile(r"^\s*\[")
# A one-line value we can swap while keeping the comment after it: a basic or literal
# string, or a bare word (number, boolean).
_VALUE_AND_COMMENT = re.compile(
    r"""^(?P<lead>\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s#"']+)"""
    r"""(?P<tail>\s*(?:#.*)?)$"""
)
_KEY_LINE = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+)\s*=")


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are all valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def set_top_level_strings(path: Path, values: dict[str, str]) -> None:
    """Set `key = "value"` for each key: the existing line is replaced, else one is added.

    Only the top-level table is touched; every other line, comments included, stays as it is.
    The file is replaced atomically, and only after the result parses back to these values.
    """
    text = read_config_text(path) or ""  # decoded from bytes: "\r\n" stays as it is
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    top_end = next((i for i, line in enumerate(lines) if _TABLE_HEADER.match(line)), len(lines))
    for key, value in values.items():
        rendered = f"{key} = {toml_string(value)}"
        for i in range(top_end):
            match = _KEY_LINE.match(lines[i])
            if not match or match["key"] != key:
                continue
            full = _VALUE_AND_COMMENT.match(lines[i])
            lines[i] = f"{full['lead']}{toml_string(value)}{full['tail']}" if full else rendered
            break
        else:
            insert_at = top_end
            while insert_at > 0 and not lines[insert_at - 1].strip():
                insert_at -= 1  # before the blank lines that lead into the first table
            lines.insert(insert_at, rendered)
            top_end += 1
    new_text = newline.join(lines) + newline
    try:
        parsed = tomllib.loads(new_text)
    except (tomllib.TOMLDecodeError, RecursionError):
        parsed = {}
    if any(parsed.get(key) != value for key, value in values.items()):
        wanted = ", ".join(f"{k} = {toml_string(v)}" for k, v in values.items())
        raise ConfigError(
            f"{path}: cannot change the file safely (a multi-line value?); edit it by hand "
            f"and set {wanted}"
        )
    write_atomically(path, new_text)


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the configuration file ({exc.strerror})") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ConfigError(f"{path}: cannot write the configuration file ({exc.strerror})") from None
