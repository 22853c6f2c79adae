"""File tools: list, find, search, read, write, copy, move, trash and measure disk usage."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import stat
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psutil

from llmos_shell.calls import Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry import CallRisk, replaced, resolve, tool
from llmos_shell.registry.overwrites import holds_content
from llmos_shell.safety import undo
from llmos_shell.safety.trash import move_across, reserve_name, trash_dir
from llmos_shell.vocabulary.units import cutoff_timestamp, human_size, parse_size
from llmos_tools._parsing import file_kind, format_time, open_regular, os_error, resolve_path

_SAMPLE_BYTES = 8192
_MAX_SCANNED = 500_000  # entries one find/search/du may look at before it stops early
_SEARCH_FILE_LIMIT = 20_000_000  # bytes; bigger files are skipped by search_text
_LINE_SHOWN = 300  # characters of a matching line that search_text returns
_PSEUDO_DIRS = frozenset({"/proc", "/sys", "/dev"})  # never walked into: not real files
_MAX_READ_BYTES = 16 * 1024 * 1024  # read_file returns at most this much, whatever is asked


# --- shared helpers -----------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _describe(st: os.stat_result) -> dict[str, Any]:
    """Type, size and modification time of one entry: the columns of every listing."""
    kind = _kind(st.st_mode)
    size = st.st_size if kind != "dir" else None
    return {
        "type": kind,
        "size": size,
        "size_human": human_size(size) if size is not None else "",
        "modified": format_time(st.st_mtime),
    }


def _looks_binary(sample: bytes) -> bool:
    """True when a file's first bytes are not text: a NUL byte, or mostly control characters."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\b\x1b")
    return controls / len(sample) > 0.3


def _existing(path: str, what: str = "path") -> tuple[Path, os.stat_result]:
    """Resolve a path and stat it, or raise a ToolError saying it is missing or unreadable."""
    resolved = resolve_path(path)
    try:
        return resolved, resolved.stat()
    except FileNotFoundError:
        if os.path.islink(resolved):
            raise ToolError(f"{resolved} is a broken symbolic link") from None
        raise ToolError(f"{what} {resolved} does not exist") from None
    except OSError as exc:
        raise os_error(exc, resolved, "open") from None


def _existing_dir(path: str) -> Path:
    resolved, st = _existing(path, "directory")
    if not stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{resolved} is a file, not a directory")
    return resolved


def _check_limit(value: int, name: str) -> None:
    if value < 1:
        raise ToolError(f"{name} must be at least 1, not {value}")


@dataclass
class _WalkState:
    """What a tree walk met besides its results."""

    unreadable: int = 0
    scanned: int = 0
    stopped_early: bool = False


def _walk(root: Path, include_hidden: bool, state: _WalkState) -> Iterator[os.DirEntry[str]]:
    """Every entry under root, breadth first so shallow ones come first; symlinks not followed."""
    queue: deque[str] = deque([str(root)])
    while queue:
        current = queue.popleft()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            state.unreadable += 1
            continue
        for entry in entries:
            state.scanned += 1
            if state.scanned > _MAX_SCANNED:
                state.stopped_early = True
                return
            if not include_hidden and entry.name.startswith("."):
                continue
            yield entry
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir and entry.path not in _PSEUDO_DIRS:
                queue.append(entry.path)


def _name_matcher(pattern: str | None, root: Path) -> Callable[[os.DirEntry[str]], bool]:
    """Glob patterns ("*.pdf", "src/*.py") match as globs, other text as a substring; any case."""
    if not pattern:
        return lambda entry: True
    lowered = pattern.lower()
    if not any(char in pattern for char in "*?["):
        return lambda entry: lowered in entry.name.lower()
    if "/" in pattern:
        return lambda entry: fnmatch.fnmatch(os.path.relpath(entry.path, root).lower(), lowered)
    return lambda entry: fnmatch.fnmatch(entry.name.lower(), lowered)


# --- reading ------------------------------------------------------------------------------------


@tool(
    headline=[
        ("", "{count} entries in {path}; the first: {first.name}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("what's in my downloads folder", {"path": "~/Downloads"}),
        ("ls -a", {"path": ".", "show_hidden": True}),
        ("show the biggest files in this folder", {"path": ".", "sort_by": "size"}),
        (
            "what did I change most recently in ~/projects",
            {"path": "~/projects", "sort_by": "modified"},
        ),
    ],
    kinds={"path": "path", "sort_by": "choice", "limit": "count", "show_hidden": "flag"},
)
def list_directory(
    path: str = ".",
    show_hidden: bool = False,
    sort_by: Literal["name", "size", "modified"] = "name",
    limit: int = 100,
) -> dict[str, Any]:
    """List the entries of a directory with their type, size and modification time.

    Args:
        path: the directory to list; ~ and relative paths are allowed
        show_hidden: also list entries whose name starts with a dot
        sort_by: name (A-Z), size (largest first) or modified (newest first)
        limit: the most entries to return
    """
    _check_limit(limit, "limit")
    directory = _existing_dir(path)
    entries: list[tuple[dict[str, Any], float]] = []
    hidden = 0
    try:
        with os.scandir(directory) as listing:
            for item in listing:
                if not show_hidden and item.name.startswith("."):
                    hidden += 1
                    continue
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished or unreadable between listing and stat
                entries.append(({"name": item.name, **_describe(st)}, st.st_mtime))
    except OSError as exc:
        raise os_error(exc, directory, "list") from None
    if sort_by == "size":
        entries.sort(key=lambda pair: (pair[0]["size"] is None, -(pair[0]["size"] or 0)))
    elif sort_by == "modified":
        entries.sort(key=lambda pair: -pair[1])
    else:
        entries.sort(key=lambda pair: pair[0]["name"].lower())
    return {
        "path": str(directory),
        "entries": [described for described, _ in entries[:limit]],
        "count": len(entries),
        "truncated": len(entries) > limit,
        "hidden_not_shown": hidden,
    }


@tool(
    headline=[
        (
            "sort_by=size",
            "{count} found under {root}; the biggest: {first.path} ({first.size_human})",
        ),
        (
            "sort_by=modified",
            "{count} found under {root}; the newest: {first.path} ({first.modified})",
        ),
        ("", "{count} found under {root}; the first: {first.path}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("find all pdfs in my documents", {"path": "~/Documents", "name": "*.pdf"}),
        (
            "files bigger than 100MB in my home",
            {"path": "~", "min_size": "100MB", "sort_by": "size"},
        ),
        (
            "what files did I change in the last 2 days here",
            {"path": ".", "modified_within": "2d", "sort_by": "modified"},
        ),
        ("where is my node_modules folder", {"path": "~", "name": "node_modules", "type": "dir"}),
        (
            "log files older than a month in /var/log",
            {"path": "/var/log", "name": "*.log", "modified_before": "30d"},
        ),
    ],
    kinds={
        "path": "path",
        "name": "glob",
        "min_size": "size",
        "max_size": "size",
        "modified_within": "age",
        "modified_before": "age",
        "limit": "count",
    },
)
def find_files(
    path: str = ".",
    name: str | None = None,
    min_size: str | None = None,
    max_size: str | None = None,
    modified_within: str | None = None,
    modified_before: str | None = None,
    type: Literal["file", "dir", "any"] = "file",
    include_hidden: bool = False,
    sort_by: Literal["path", "size", "modified"] = "path",
    limit: int = 100,
) -> dict[str, Any]:
    """Find files or directories under a folder by name pattern, size and modification time.

    Args:
        path: the folder to search in, recursively
        name: a glob such as "*.pdf" or "report_202?.txt", or plain text the name must contain
        min_size: only files at least this big, e.g. "10MB", "1.5GiB", "500k"
        max_size: only files at most this big, e.g. "1MB"
        modified_within: only entries changed within this time, e.g. "7d", "24h", "yesterday"
        modified_before: only entries last changed before this, e.g. "30d" (ago) or "2024-01-31"
        type: file, dir or any
        include_hidden: also look at hidden files and inside hidden folders
        sort_by: path, size (largest first) or modified (newest first)
        limit: the most matches to return
    """
    _check_limit(limit, "limit")
    root = _existing_dir(path)
    low = parse_size(min_size) if min_size else None
    high = parse_size(max_size) if max_size else None
    after = cutoff_timestamp(modified_within) if modified_within else None
    before = cutoff_timestamp(modified_before) if modified_before else None
    matches_name = _name_matcher(name, root)
    needs_size = low is not None or high is not None
    state = _WalkState()
    found: list[tuple[dict[str, Any], os.stat_result]] = []
    for entry in _walk(root, include_hidden, state):
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file(follow_symlinks=False)
        except OSError:
            continue
        if (type == "file" and not is_file) or (type == "dir" and not is_dir):
            continue
        if needs_size and not is_file:
            continue
        if not matches_name(entry):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (low is not None and st.st_size < low) or (high is not None and st.st_size > high):
            continue
        if (after is not None and st.st_mtime < after) or (
            before is not None and st.st_mtime >= before
        ):
            continue
        found.append(({"path": entry.path, **_describe(st)}, st))
    if sort_by == "size":
        found.sort(key=lambda pair: -pair[1].st_size if pair[0]["type"] != "dir" else 1)
    elif sort_by == "modified":
        found.sort(key=lambda pair: -pair[1].st_mtime)
    result: dict[str, Any] = {
        "root": str(root),
        "matches": [described for described, _ in found[:limit]],
        "count": len(found),
        "truncated": len(found) > limit,
    }
    if state.unreadable:
        result["unreadable_dirs_skipped"] = state.unreadable
    if state.stopped_early:
        result["note"] = f"stopped after looking at {_MAX_SCANNED} entries; narrow the path"
    return result


@tool(
    headline=[
        (
            "",
            "{count} lines match {pattern} in {path}; the first at line {first.line_number} of {first.file}",
        ),
        ("", "no line matches {pattern} in {path}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("grep TODO in this project", {"pattern": "TODO", "path": "."}),
        (
            "which python files import requests",
            {"pattern": r"^\s*(import|from) requests", "path": ".", "glob": "*.py", "regex": True},
        ),
        (
            "search my notes for 'dentist', any case",
            {"pattern": "dentist", "path": "~/notes", "ignore_case": True},
        ),
        ("find where PATH is set in my bashrc", {"pattern": "PATH=", "path": "~/.bashrc"}),
    ],
    kinds={"pattern": "pattern", "path": "path", "glob": "glob", "max_matches": "count"},
)
def search_text(
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    regex: bool = False,
    ignore_case: bool = False,
    include_hidden: bool = False,
    max_matches: int = 100,
) -> dict[str, Any]:
    """Search inside text files for lines that contain a text or match a regular expression.

    Args:
        pattern: the text to look for, or a Python regular expression when regex is true
        path: a file, or a folder searched recursively
        glob: only search files whose name matches this glob, e.g. "*.py"
        regex: treat pattern as a regular expression instead of plain text
        ignore_case: match upper and lower case alike
        include_hidden: also search hidden files and folders
        max_matches: stop after this many matching lines
    """
    _check_limit(max_matches, "max_matches")
    if not pattern:
        raise ToolError("the search pattern is empty; give the text to look for")
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = re.compile(pattern if regex else re.escape(pattern), flags)
    except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}: too large
        raise ToolError(
            f"pattern {pattern!r} is not a valid regular expression ({exc}); "
            "set regex to false to search for it as plain text"
        ) from None
    target, st = _existing(path)
    matches: list[dict[str, Any]] = []
    counts = {"files_searched": 0, "binary_skipped": 0, "large_skipped": 0}
    state = _WalkState()
    if stat.S_ISDIR(st.st_mode):
        wanted = glob.lower() if glob else None
        files: Iterator[str] = (
            entry.path
            for entry in _walk(target, include_hidden, state)
            if entry.is_file(follow_symlinks=False)
            and (wanted is None or fnmatch.fnmatch(entry.name.lower(), wanted))
        )
    elif stat.S_ISREG(st.st_mode):
        files = iter([str(target)])
    else:
        raise ToolError(f"{target} is not a regular file or a directory")
    single = stat.S_ISREG(st.st_mode)
    for file_path in files:
        if len(matches) > max_matches:
            break
        # one match more than asked for tells whether the list was cut
        outcome = _search_file(file_path, compiled, matches, max_matches + 1, limit_size=not single)
        if single and outcome == "binary":
            raise ToolError(f"{target} is a binary file; search_text only reads text files")
        if single and outcome == "unreadable":
            raise ToolError(f"cannot read {target}: permission denied")
        if outcome in ("binary", "large"):
            counts[f"{outcome}_skipped"] += 1
        elif outcome == "searched":
            counts["files_searched"] += 1
    result: dict[str, Any] = {
        "pattern": pattern,
        "path": str(target),
        "matches": matches[:max_matches],
        "count": min(len(matches), max_matches),
        "truncated": len(matches) > max_matches,
        **counts,
    }
    if state.stopped_early:
        result["note"] = f"stopped after looking at {_MAX_SCANNED} entries; narrow the path"
    return result


def _search_file(
    file_path: str,
    compiled: re.Pattern[str],
    matches: list[dict[str, Any]],
    limit: int,
    limit_size: bool,
) -> str:
    """Append the matching lines of one file; says searched, binary, large or unreadable."""
    try:
        if limit_size and os.path.getsize(file_path) > _SEARCH_FILE_LIMIT:
            return "large"
        with open_regular(Path(file_path)) as handle:
            if _looks_binary(handle.read(_SAMPLE_BYTES)):
                return "binary"
            handle.seek(0)
            for number, raw in enumerate(handle, start=1):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                found = compiled.search(line)
                if found is None:
                    continue
                matches.append(
                    {"file": file_path, "line_number": number, "line": _clip(line, found)}
                )
                if len(matches) >= limit:
                    break
    except (OSError, ToolError):
        return "unreadable"
    return "searched"


def _clip(line: str, found: re.Match[str]) -> str:
    """The part of a long line around its match."""
    if len(line) <= _LINE_SHOWN:
        return line
    start = max(0, found.start() - _LINE_SHOWN // 3)
    clipped = line[start : start + _LINE_SHOWN]
    return ("…" if start else "") + clipped + ("…" if start + _LINE_SHOWN < len(line) else "")


@tool(
    headline=[
        ("", "{path}: {lines_shown} lines, {size_human}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("show me my bashrc", {"path": "~/.bashrc"}),
        ("first 20 lines of README.md", {"path": "README.md", "head": 20}),
        ("tail the syslog", {"path": "/var/log/syslog", "tail": 50}),
        ("cat /etc/hosts", {"path": "/etc/hosts"}),
    ],
    kinds={"path": "path", "head": "count-first", "tail": "count-last", "max_bytes": "number"},
)
def read_file(
    path: str,
    head: int | None = None,
    tail: int | None = None,
    max_bytes: int = 65536,
) -> dict[str, Any]:
    """Read a text file, or only its first or last lines.

    Args:
        path: the file to read
        head: return only the first this many lines
        tail: return only the last this many lines
        max_bytes: the most bytes of text to return
    """
    if head is not None and tail is not None:
        raise ToolError("give head or tail, not both")
    for value, label in ((head, "head"), (tail, "tail"), (max_bytes, "max_bytes")):
        if value is not None:
            _check_limit(value, label)
    target, st = _existing(path, "file")
    if stat.S_ISDIR(st.st_mode):
        raise ToolError(f"{target} is a directory; use list_directory to see what it holds")
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"{target} is not a regular file (a device, pipe or socket)")
    max_bytes = min(max_bytes, _MAX_READ_BYTES)  # never allocate what no answer could show
    try:
        with open_regular(target) as handle:
            if _looks_binary(handle.read(_SAMPLE_BYTES)):
                raise ToolError(
                    f"{target} is a binary file ({human_size(st.st_size)}); "
                    "it cannot be shown as text"
                )
            handle.seek(0)
            if head is not None:
                data, truncated = _read_head(handle, head, max_bytes)
            elif tail is not None:
                data, truncated = _read_tail(handle, st.st_size, tail, max_bytes)
            else:
                data = _read_up_to(handle, max_bytes + 1)
                truncated = len(data) > max_bytes
                data = data[:max_bytes]
    except OSError as exc:
        raise os_error(exc, target, "read") from None
    content = data.decode("utf-8", errors="replace")
    return {
        "path": str(target),
        "size": st.st_size,
        "size_human": human_size(st.st_size),
        "content": content,
        "lines_shown": content.count("\n") + (1 if content and not content.endswith("\n") else 0),
        "truncated": truncated,
    }


def _read_up_to(handle: Any, limit: int) -> bytes:
    """At most `limit` bytes, read in blocks (a read of `limit` would allocate it all at once)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = handle.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_head(handle: Any, lines: int, max_bytes: int) -> tuple[bytes, bool]:
    """The first lines of a file, never reading more than max_bytes (even of one long line)."""
    chunks: list[bytes] = []
    used = 0
    for _ in range(lines):
        raw = handle.readline(max_bytes - used + 1)
        if not raw:
            return b"".join(chunks), False
        if used + len(raw) > max_bytes:
            chunks.append(raw[: max_bytes - used])
            return b"".join(chunks), True
        chunks.append(raw)
        used += len(raw)
    return b"".join(chunks), bool(handle.read(1))


def _read_tail(handle: Any, size: int, lines: int, max_bytes: int) -> tuple[bytes, bool]:
    """The last lines of a file, read backwards in blocks so big logs stay cheap."""
    block = 65536
    position = size
    data = b""
    # one newline more than lines, because the file usually ends with one
    while position > 0 and data.count(b"\n") <= lines and len(data) <= max_bytes:
        step = min(block, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    kept = data.splitlines(keepends=True)
    truncated = position > 0 or len(kept) > lines
    text = b"".join(kept[-lines:])
    if len(text) > max_bytes:
        text, truncated = text[-max_bytes:], True
    return text, truncated


# --- writing ------------------------------------------------------------------------------------


def _write_replaces(arguments: Mapping[str, Any], folder: Path) -> CallRisk | None:
    """Destructive when it overwrites a file that holds text; appending is a write."""
    if arguments.get("mode") == "append":
        return None
    return replaced(arguments["path"], folder)


def _landing_replaces(arguments: Mapping[str, Any], folder: Path) -> CallRisk | None:
    """Destructive when a copy or move with overwrite would replace what is at its landing
    place (worked out as `_destination` does: inside an existing folder)."""
    if not arguments.get("overwrite"):
        return None  # the tool refuses an existing destination
    source = resolve(arguments["source"], folder)
    text = arguments["destination"]
    target = resolve(text, folder)
    if (target.is_dir() and target != source) or text.endswith(("/", os.sep)):
        target = target / source.name
    if holds_content(target):
        return CallRisk(Risk.DESTRUCTIVE, f"it would replace {target}, which already exists")
    return None


def _never_replaces(arguments: Mapping[str, Any], folder: Path) -> CallRisk | None:
    """Never destructive: the tool refuses a target that exists."""
    return None


@tool(
    headline=[
        ("", "wrote {bytes_written} bytes to {path} ({mode}); it is {size_human} now"),
    ],
    risk=Risk.WRITE,
    examples=[
        (
            "save 'buy milk' to ~/todo.txt",
            {"path": "~/todo.txt", "content": "buy milk\n"},
        ),
        (
            "add a line 'call mom' to my todo list",
            {"path": "~/todo.txt", "content": "call mom\n", "mode": "append"},
        ),
        (
            "create notes/ideas.md with a heading Ideas",
            {"path": "notes/ideas.md", "content": "# Ideas\n", "create_parents": True},
        ),
    ],
    kinds={"path": "path", "content": "text"},
    risk_for=_write_replaces,
)
def write_file(
    path: str,
    content: str,
    mode: Literal["overwrite", "append"] = "overwrite",
    create_parents: bool = False,
) -> dict[str, Any]:
    """Write text to a file, replacing it or appending to it.

    Args:
        path: the file to write; it is created when missing
        content: the text to write
        mode: overwrite the file or append to its end
        create_parents: create missing parent folders
    """
    target = resolve_path(path)
    if target.is_dir():
        raise ToolError(f"{target} is a directory; give a file path inside it")
    parent = target.parent
    if not parent.exists():
        if not create_parents:
            raise ToolError(
                f"the folder {parent} does not exist; set create_parents to true to create it"
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(exc, parent, "create the folder") from None
    elif not parent.is_dir():
        raise ToolError(f"{parent} is a file, so it cannot hold {target.name}")
    existed = target.exists()
    try:
        encoded = content.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"the content cannot be written as UTF-8: character {exc.start} is a lone surrogate"
        ) from None
    try:
        with (
            undo.writing(target, append=mode == "append"),
            open_regular(target, mode) as handle,
        ):
            handle.write(encoded)
        size = target.stat().st_size
    except OSError as exc:
        raise os_error(exc, target, "write") from None
    return {
        "path": str(target),
        "mode": mode,
        "bytes_written": len(encoded),
        "created": not existed,
        "size": size,
        "size_human": human_size(size),
    }


def _copy_file(source: str, target: str) -> None:
    """Copy one file inside a tree; FIFOs and devices are refused, never read (forever)."""
    mode = os.lstat(source).st_mode
    if _kind(mode) == "other":
        raise shutil.SpecialFileError(f"{source} is {file_kind(mode)}")
    shutil.copy2(source, target, follow_symlinks=False)


def _destination(source: Path, destination: str) -> Path:
    """Where a copy or move lands: inside destination when it is a folder (like cp and mv)."""
    target: Path = resolve_path(destination)  # llmos_tools is untyped to mypy (Any)
    if target.is_dir() and target != source:
        return target / source.name
    if destination.endswith(("/", os.sep)):
        return target / source.name  # "copy x to backup/" names a folder, created if missing
    return target


def _source(path: str) -> tuple[Path, os.stat_result]:
    source = resolve_path(path)
    try:
        return source, source.lstat()
    except FileNotFoundError:
        raise ToolError(f"{source} does not exist") from None
    except OSError as exc:
        raise os_error(exc, source, "open") from None


def _refuse_into_itself(source: Path, target: Path, verb: str) -> None:
    if target == source:
        raise ToolError(f"cannot {verb} {source} onto itself; give another destination")
    if source in target.parents:
        raise ToolError(f"cannot {verb} the folder {source} into itself ({target})")


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, target.parent, "create the folder") from None


@tool(
    headline=[
        ("", "copied {source} to {destination} ({size_human})"),
    ],
    risk=Risk.WRITE,
    examples=[
        ("copy report.pdf to my desktop", {"source": "report.pdf", "destination": "~/Desktop"}),
        (
            "back up my thesis folder to thesis_backup",
            {"source": "~/thesis", "destination": "~/thesis_backup"},
        ),
        (
            "copy config.yaml to config.yaml.bak, replace the old backup",
            {"source": "config.yaml", "destination": "config.yaml.bak", "overwrite": True},
        ),
    ],
    kinds={"source": "path", "destination": "path"},
    risk_for=_landing_replaces,
)
def copy_path(source: str, destination: str, overwrite: bool = False) -> dict[str, Any]:
    """Copy a file or a whole folder; into the destination when it is an existing folder.

    Args:
        source: the file or folder to copy
        destination: the new path, or an existing folder to copy into
        overwrite: replace an existing file at the destination (folders are merged)
    """
    src, st = _source(source)
    if _kind(st.st_mode) == "other":
        raise ToolError(f"cannot copy {src}: it is {file_kind(st.st_mode)}, not a file or folder")
    target = _destination(src, destination)
    _refuse_into_itself(src, target, "copy")
    is_dir = stat.S_ISDIR(st.st_mode)
    if os.path.lexists(target):
        if not overwrite:
            raise ToolError(f"{target} already exists; set overwrite to true to replace it")
        if target.is_dir() != is_dir:
            kinds = ("folder", "file") if is_dir else ("file", "folder")
            raise ToolError(f"cannot replace {target} with a {kinds[0]}: it is a {kinds[1]}")
    _make_parent(target)
    try:
        with undo.copying(src, target):
            if is_dir:
                shutil.copytree(
                    src, target, symlinks=True, dirs_exist_ok=True, copy_function=_copy_file
                )
            else:
                shutil.copy2(src, target, follow_symlinks=False)
    except shutil.Error as exc:
        failures = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
        if not failures:
            raise ToolError(f"cannot copy {src} to {target}: {exc}") from None
        raise ToolError(
            f"copied {src} to {target} only in part: {len(failures)} item(s) failed, "
            f"the first {failures[0][0]} ({failures[0][2]})"
        ) from None
    except OSError as exc:
        raise os_error(exc, target, f"copy {src} to") from None
    size = _tree_size(target).size if is_dir else st.st_size
    return {
        "source": str(src),
        "destination": str(target),
        "type": "dir" if is_dir else _kind(st.st_mode),
        "size": size,
        "size_human": human_size(size),
    }


@tool(
    headline=[
        ("", "moved {source} to {destination}"),
    ],
    risk=Risk.WRITE,
    examples=[
        (
            "move report.pdf to my Documents folder",
            {"source": "report.pdf", "destination": "~/Documents"},
        ),
        ("rename draft.txt to final.txt", {"source": "draft.txt", "destination": "final.txt"}),
        (
            "mv photos/ to /mnt/backup/photos_2023",
            {"source": "photos", "destination": "/mnt/backup/photos_2023"},
        ),
    ],
    kinds={"source": "path", "destination": "path"},
    risk_for=_landing_replaces,
)
def move_path(source: str, destination: str, overwrite: bool = False) -> dict[str, Any]:
    """Move or rename a file or folder; into the destination when it is an existing folder.

    Args:
        source: the file or folder to move
        destination: the new path, or an existing folder to move into
        overwrite: replace an existing file at the destination
    """
    src, st = _source(source)
    _refuse_protected(src, "move")
    target = _destination(src, destination)
    _refuse_into_itself(src, target, "move")
    if os.path.lexists(target):
        if not overwrite:
            raise ToolError(f"{target} already exists; set overwrite to true to replace it")
        if target.is_dir() and not target.is_symlink():
            raise ToolError(f"{target} is an existing folder; it is never replaced by a move")
        if stat.S_ISDIR(st.st_mode):
            raise ToolError(f"cannot replace the file {target} with the folder {src}")
    _make_parent(target)
    try:
        with undo.moving(src, target):
            move_across(src, target)
    except OSError as exc:
        raise os_error(exc, target, f"move {src} to") from None
    return {
        "source": str(src),
        "destination": str(target),
        "type": _kind(st.st_mode),
    }


# --- trash (freedesktop.org Trash specification 1.0) --------------------------------------------


def _refuse_protected(path: Path, verb: str) -> None:
    """Refuse to trash or move the root, home, or anything holding or inside the trash."""
    home = Path.home().absolute()
    trash = trash_dir().absolute()
    if path == Path(path.anchor) or path == home or path in home.parents:
        raise ToolError(f"refusing to {verb} {path}: it holds the whole system or your home")
    if path == trash or path in trash.parents:
        raise ToolError(f"refusing to {verb} {path}: it holds the trash itself")
    if trash in path.parents and verb == "delete":
        raise ToolError(f"{path} is already in the trash; use restore_from_trash to get it back")


@tool(
    headline=[
        ("", "moved {path} to the trash (llmos undo brings it back)"),
    ],
    risk=Risk.DESTRUCTIVE,
    reversible=True,
    examples=[
        ("delete old_notes.txt", {"path": "old_notes.txt"}),
        ("rm -r ~/Downloads/junk", {"path": "~/Downloads/junk"}),
        ("throw away the build folder", {"path": "build"}),
    ],
    kinds={"path": "path"},
)
def delete_path(path: str) -> dict[str, Any]:
    """Delete a file or folder by moving it to the trash, from where it can be restored.

    Args:
        path: the file or folder to delete
    """
    target = resolve_path(path)
    if not os.path.lexists(target):
        raise ToolError(f"{target} does not exist, so there is nothing to delete")
    _refuse_protected(target, "delete")
    kind = _kind(target.lstat().st_mode)
    trash = trash_dir()
    try:
        for sub in ("files", "info"):
            (trash / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        name, fd = reserve_name(trash, target.name)
    except OSError as exc:
        raise os_error(exc, trash, "use the trash folder") from None
    info = trash / "info" / f"{name}.trashinfo"
    quoted = urllib.parse.quote(os.fsencode(target), safe="/")
    deleted = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"[Trash Info]\nPath={quoted}\nDeletionDate={deleted}\n")
        with undo.trashing(target, trash / "files" / name):
            move_across(target, trash / "files" / name)
    except OSError as exc:
        info.unlink(missing_ok=True)
        raise os_error(exc, target, "move to the trash") from None
    return {
        "path": str(target),
        "type": kind,
        "trashed_as": name,
        "trash_dir": str(trash),
        "deleted": deleted,
    }


@dataclass(frozen=True)
class _TrashItem:
    """One item in the trash, read from its .trashinfo file."""

    name: str
    original: Path
    deleted: str
    order: tuple[str, int]  # deletion date, then the info file's mtime to break ties


def _trash_items(trash: Path) -> list[_TrashItem]:
    """Items in the trash, most recently deleted first; orphaned or broken entries are skipped."""
    items: list[_TrashItem] = []
    try:
        infos = list(os.scandir(trash / "info"))
    except OSError:
        return []
    for info in infos:
        if not info.name.endswith(".trashinfo"):
            continue
        name = info.name[: -len(".trashinfo")]
        if not os.path.lexists(trash / "files" / name):
            continue
        try:
            text = Path(info.path).read_text(encoding="utf-8", errors="replace")
            mtime = info.stat().st_mtime_ns
        except OSError:
            continue
        fields: dict[str, str] = {}
        for line in text.splitlines()[1:]:
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value
        if "Path" not in fields:
            continue
        original = Path(os.fsdecode(urllib.parse.unquote_to_bytes(fields["Path"].strip())))
        deleted = fields.get("DeletionDate", "").strip()
        items.append(_TrashItem(name, Path("/") / original, deleted, (deleted, mtime)))
    items.sort(key=lambda item: item.order, reverse=True)
    return items


@tool(
    headline=[
        (
            "",
            "{count} items in the trash; the first: {first.original_path}, deleted {first.deleted}",
        ),
        ("", "the trash is empty"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("what's in the trash", {}),
        ("did I delete any pdfs recently", {"name": ".pdf"}),
        ("show the last 10 things I deleted", {"limit": 10}),
    ],
    kinds={"name": "name", "limit": "count"},
)
def list_trash(name: str | None = None, limit: int = 50) -> dict[str, Any]:
    """List what is in the trash, most recently deleted first, with where each item came from.

    Args:
        name: only items whose original path contains this text (any case)
        limit: the most items to return
    """
    _check_limit(limit, "limit")
    trash = trash_dir()
    items = _trash_items(trash)
    if name:
        items = [item for item in items if name.lower() in str(item.original).lower()]
    listed: list[dict[str, Any]] = []
    for item in items[:limit]:
        try:
            st = (trash / "files" / item.name).lstat()
        except OSError:
            continue
        size = st.st_size if not stat.S_ISDIR(st.st_mode) else None
        listed.append(
            {
                "name": item.name,
                "original_path": str(item.original),
                "deleted": item.deleted,
                "type": _kind(st.st_mode),
                "size": size,
                "size_human": human_size(size) if size is not None else "",
            }
        )
    return {
        "trash_dir": str(trash),
        "items": listed,
        "count": len(items),
        "truncated": len(items) > limit,
    }


def _trash_matches(items: list[_TrashItem], text: str) -> list[_TrashItem]:
    """The trashed items that `text` names, most recent first.

    A path (with a slash or ~) names an original location. A bare name names a trash name or
    an original file name; when it fits files from several places, only an exact trash name
    settles it, otherwise it is ambiguous.
    """
    if "/" in text or text.startswith("~"):
        wanted = resolve_path(text)
        return [item for item in items if item.original == wanted]
    chosen = [item for item in items if text in (item.name, item.original.name)]
    places = sorted({str(item.original) for item in chosen})
    if len(places) > 1:
        exact = [item for item in chosen if item.name == text]
        if exact:
            return exact
        raise ToolError(
            f"several deleted items are called {text!r} ({', '.join(places[:5])}); "
            "give the full original path"
        )
    return chosen


@tool(
    headline=[
        ("", "restored {original_path} to {restored_to}"),
    ],
    risk=Risk.WRITE,
    examples=[
        ("undo deleting old_notes.txt", {"path": "old_notes.txt"}),
        ("restore ~/thesis/chapter1.tex from the trash", {"path": "~/thesis/chapter1.tex"}),
        (
            "get report.2.pdf back from the trash onto my desktop",
            {"path": "report.2.pdf", "destination": "~/Desktop"},
        ),
    ],
    kinds={"path": "path", "destination": "path"},
    risk_for=_never_replaces,
)
def restore_from_trash(path: str, destination: str | None = None) -> dict[str, Any]:
    """Restore a deleted file or folder from the trash to where it was, or to a destination.

    Args:
        path: the original path of the deleted item, or its name in the trash as list_trash shows
        destination: put it here instead of its original place (a folder means inside it)
    """
    if not path.strip():
        raise ToolError("give the original path or the trash name of the item to restore")
    trash = trash_dir()
    items = _trash_items(trash)
    text = path.strip()
    chosen = _trash_matches(items, text)
    if not chosen:
        raise ToolError(
            f"nothing in the trash matches {text!r}; use list_trash to see what is there"
        )
    item = chosen[0]  # most recently deleted first
    target = item.original
    if destination:
        target = resolve_path(destination)
        if target.is_dir():
            target = target / item.original.name
    if os.path.lexists(target):
        raise ToolError(
            f"{target} already exists; move it away first or give a destination to restore to"
        )
    _make_parent(target)
    try:
        move_across(trash / "files" / item.name, target)
    except OSError as exc:
        raise os_error(exc, target, "restore to") from None
    (trash / "info" / f"{item.name}.trashinfo").unlink(missing_ok=True)
    return {
        "restored_to": str(target),
        "original_path": str(item.original),
        "trash_name": item.name,
        "deleted": item.deleted,
        "other_versions_in_trash": sum(1 for other in items if other.original == item.original) - 1,
    }


# --- disk usage ---------------------------------------------------------------------------------

_PSEUDO_FS = frozenset(
    {
        "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs",
        "devpts", "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc",
        "pstore", "ramfs", "rpc_pipefs", "securityfs", "squashfs", "sysfs", "tmpfs", "tracefs",
    }
)  # fmt: skip
_PSEUDO_MOUNT_PREFIXES = ("/proc", "/sys", "/dev", "/snap/", "/System/Volumes/")


@dataclass
class _TreeSize:
    """The apparent size of a tree of files, and how much of it could be read."""

    size: int = 0
    files: int = 0
    dirs: int = 0
    unreadable: int = 0
    other_filesystems: int = 0


def _tree_size(root: Path, seen: set[tuple[int, int]] | None = None) -> _TreeSize:
    """Sum file sizes under root, staying on its file system and counting hard links once."""
    seen = set() if seen is None else seen
    total = _TreeSize()
    try:
        device = root.lstat().st_dev
    except OSError:
        total.unreadable += 1
        return total
    stack = [str(root)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError:
            total.unreadable += 1
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                total.unreadable += 1
                continue
            if stat.S_ISDIR(st.st_mode):
                if st.st_dev != device:
                    total.other_filesystems += 1
                    continue
                total.dirs += 1
                stack.append(entry.path)
                continue
            total.files += 1
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total.size += st.st_size
    return total


def _mount_usage() -> dict[str, Any]:
    mounts: list[dict[str, Any]] = []
    seen_devices: set[str] = set()
    partitions = sorted(psutil.disk_partitions(all=False), key=lambda p: len(p.mountpoint))
    for part in partitions:
        if part.fstype in _PSEUDO_FS or part.device in seen_devices:
            continue
        if part.mountpoint != "/System/Volumes/Data" and part.mountpoint.startswith(
            _PSEUDO_MOUNT_PREFIXES
        ):
            continue
        if not os.path.isdir(part.mountpoint):
            continue  # a bind-mounted file, as containers have for /etc/hosts
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        if usage.total == 0:
            continue
        seen_devices.add(part.device)
        mounts.append(_usage_row(part.mountpoint, usage, part.device, part.fstype))
    if not mounts:
        mounts.append(_usage_row("/", psutil.disk_usage("/"), "", ""))
    return {"mounts": mounts}


def _usage_row(mountpoint: str, usage: Any, device: str, fstype: str) -> dict[str, Any]:
    return {
        "mountpoint": mountpoint,
        "device": device,
        "fstype": fstype,
        "total": usage.total,
        "used": usage.used,
        "free": usage.free,
        "percent_used": usage.percent,
        "total_human": human_size(usage.total),
        "used_human": human_size(usage.used),
        "free_human": human_size(usage.free),
    }


@tool(
    headline=[
        (
            "used full",
            "{first.mountpoint} has {first.used_human} used of {first.total_human} ({first.percent_used}% full)",
        ),
        ("", "{first.mountpoint} has {first.free_human} free of {first.total_human}"),
        (
            "",
            "{path} takes {size_human}: {files} files in {dirs} folders; the biggest inside: {first.name}",
        ),
        ("", "{path} is {size_human}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("how much disk space do I have left", {}),
        ("df -h", {}),
        ("what is taking up space in my home folder", {"path": "~"}),
        ("how big is my Downloads folder", {"path": "~/Downloads", "top": 5}),
    ],
    kinds={"path": "path", "top": "count"},
)
def disk_usage(path: str | None = None, top: int = 10) -> dict[str, Any]:
    """Show free space per disk, or with a path, the size of a folder and its biggest items.

    Args:
        path: a folder to measure; leave empty for the free space of every mounted disk
        top: how many of the folder's biggest items to list
    """
    if path is None or not path.strip():
        return _mount_usage()
    _check_limit(top, "top")
    root, st = _existing(path)
    if not stat.S_ISDIR(st.st_mode):
        return {
            "path": str(root),
            "type": "file",
            "size": st.st_size,
            "size_human": human_size(st.st_size),
        }
    seen: set[tuple[int, int]] = set()
    children: list[dict[str, Any]] = []
    summary = _TreeSize()
    try:
        with os.scandir(root) as listing:
            entries = list(listing)
    except OSError as exc:
        raise os_error(exc, root, "measure") from None
    for entry in entries:
        try:
            child_st = entry.stat(follow_symlinks=False)
        except OSError:
            summary.unreadable += 1
            continue
        if stat.S_ISDIR(child_st.st_mode) and child_st.st_dev == st.st_dev:
            sub = _tree_size(Path(entry.path), seen)
            size = sub.size
            summary.files += sub.files
            summary.dirs += sub.dirs + 1
            summary.unreadable += sub.unreadable
            summary.other_filesystems += sub.other_filesystems
        elif stat.S_ISDIR(child_st.st_mode):
            summary.other_filesystems += 1
            continue
        else:
            size = child_st.st_size
            summary.files += 1
        summary.size += size
        children.append({"name": entry.name, "type": _kind(child_st.st_mode), "size": size})
    children.sort(key=lambda child: -child["size"])
    for child in children:
        child["size_human"] = human_size(child["size"])
        child["percent"] = round(100 * child["size"] / summary.size, 1) if summary.size else 0.0
    result: dict[str, Any] = {
        "path": str(root),
        "type": "dir",
        "size": summary.size,
        "size_human": human_size(summary.size),
        "files": summary.files,
        "dirs": summary.dirs,
        "largest": children[:top],
        "items": len(children),
    }
    if summary.unreadable:
        result["unreadable_skipped"] = summary.unreadable
    if summary.other_filesystems:
        result["other_filesystems_skipped"] = summary.other_filesystems
    return result
