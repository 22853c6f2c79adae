"""What the person names, resolved to the real thing before a call is made.

People name things ("the ubuntu iso in my downloads", "the sleep 1000 process", "the biggest
one", "oops, undo that"); tools take paths, pids and values. A small model drops the folder,
copies typos and widens the target to the folder that holds it. The resolver reads the
request against the real world (the folder's entries, the process table, the rows of the
turn before) and fills or corrects the call's arguments, keyed on argument kinds, so a
plugin's tool is treated as a built-in is:

- a path argument gets the entry the description fits, where one clearly leads; where
  several fit equally, the call carries them as candidates and the shell asks which;
- a pid argument gets the process the words and numbers fit;
- "it", "that file", "the second one", "the biggest one" take a row of the turn before;
- a moving or removing call never takes the whole folder when the request named something
  in it, and never drops a condition ("older than 30 days") the request states;
- a filter that only repeats the tool's own domain ("processes", "all") is no filter, and
  an example's value is never an argument unless the request says it too.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_shell.calls import Risk, ToolCall
from llmos_shell.planning.entries import (
    Candidate,
    description_words,
    match_entries,
    places_said,
    words,
)
from llmos_shell.planning.running import Running, match_processes
from llmos_shell.planning.slots import extract
from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind
from llmos_shell.safety.footprint import footprint, moves_or_removes
from llmos_shell.vocabulary.naming import (
    EVERYTHING_WORDS,
    ORDER_WORDS,
    ORDINALS,
    TYPE_WORDS,
    UNDO_PAIRS,
    UNDO_TRIGGERS,
    UNDO_WORDS,
)
from llmos_shell.vocabulary.references import reads_as_follow_up
from llmos_shell.vocabulary.units import human_size

SURE = 0.5  # a candidate at least this good may be taken ...
LEAD = 0.2  # ... when it leads the next one by this much


@dataclass(frozen=True)
class Resolution:
    """The call as resolved, what was changed and why, and any question left open.

    `call` is None when no call may be planned (`refusal` says why); `candidates` maps an
    argument to the things it may mean when several fit; `notes` are the lines `/why` shows.
    """

    call: ToolCall | None
    notes: tuple[str, ...] = ()
    candidates: Mapping[str, tuple[Candidate, ...]] = field(default_factory=dict)
    refusal: str | None = None


def is_undo_request(request: str) -> bool:
    """Whether the request only takes back the last change ("oops", "undo that")."""
    said = words(request.replace("'", ""))
    if not said:
        return False
    trigger = any(w in UNDO_TRIGGERS for w in said) or any(
        a in said and b in said[said.index(a) + 1 :] for a, b in UNDO_PAIRS
    )
    return trigger and all(w in UNDO_WORDS or w.isdigit() for w in said)


def _absolute(value: str, folder: str | None) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else Path(folder or os.getcwd()) / path


def _rows(results: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of earlier results: the longest list of records in each, with paths made whole."""
    rows: list[dict[str, Any]] = []
    for data in results:
        if not isinstance(data, dict):
            continue
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        base = data.get("path") if isinstance(data.get("path"), str) else None
        for row in max(lists, key=len) if lists else [data]:
            row = dict(row)
            if "path" not in row and base and isinstance(row.get("name"), str):
                row["path"] = os.path.join(base, row["name"])
            rows.append(row)
    return rows


def _row_size(row: Mapping[str, Any]) -> float:
    for key in ("size", "rss", "bytes", "memory_percent", "cpu_percent"):
        if isinstance(row.get(key), (int, float)):
            return float(row[key])
    return 0.0


def _pick_row(request: str, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The rows a reference means, and whether it means exactly those (not a guess among them)."""
    said = words(request)
    for word in said:
        if word in ORDER_WORDS:
            key, high = ORDER_WORDS[word]
            if key == "size":
                ranked = sorted(rows, key=_row_size, reverse=high)
            else:
                ranked = sorted(rows, key=lambda r: str(r.get("modified", "")), reverse=high)
            return ranked[:1], True
    for word in said:
        if word in ORDINALS and ORDINALS[word] < len(rows):
            return [rows[ORDINALS[word]]], True
    named = [
        r
        for r in rows
        if any(w in words(str(r.get("name", ""))) for w in description_words(request))
    ]
    if named:
        return named, len(named) == 1
    return rows, len(rows) == 1


def _row_value(row: Mapping[str, Any], kind: Kind) -> Any:
    if kind is Kind.PID:
        return row.get("pid")
    if kind is Kind.PATH:
        return row.get("path")
    return row.get("name")


def _label(row: Mapping[str, Any]) -> str:
    name = row.get("name") or row.get("path") or row.get("pid")
    extra = row.get("size_human") or row.get("rss_human") or ""
    return f"{name} {extra}".strip()


def _domain_words(tool: Tool) -> set[str]:
    """The words of the tool's own name, singular and plural: "list_processes": process(es)."""
    found = set(EVERYTHING_WORDS)
    for word in words(tool.name.replace("_", " ")):
        base = word[:-2] if word.endswith("es") and len(word) > 4 else word.rstrip("s")
        found |= {word, base, base + "s", base + "es"}
    return found


class Resolver:
    """Resolves the things a request names against the folder, the processes, the turn before."""

    def __init__(
        self,
        *,
        folder: str | None = None,
        processes: Callable[[], list[Running]] | None = None,
    ) -> None:
        """`folder` is where relative paths are read (None: the current folder);
        `processes` lists the process table (None: the live one)."""
        self.folder = folder
        self.processes = processes

    def resolve(
        self,
        call: ToolCall,
        tool: Tool,
        request: str,
        *,
        said: str | None = None,
        results: Sequence[Any] = (),
    ) -> Resolution:
        """The call with what the request names put in its arguments.

        `said` is the request with the person's own places spelt out (memory), `results`
        the data of the turn before when the request builds on it.
        """
        said = said or request
        args = dict(call.arguments)
        notes: list[str] = []
        candidates: dict[str, tuple[Candidate, ...]] = {}
        kinds = tool.kinds
        refers = bool(results) and reads_as_follow_up(request)
        # A value may come from the request, or from the result it refers to ("kill it").
        shown = " ".join(json.dumps(r, default=str) for r in results) if refers else ""
        self._tidy_values(args, tool, request, notes, shown)
        rows = _rows(results) if refers else []
        for name, kind in kinds.items():
            if kind not in (Kind.PATH, Kind.PID):
                continue
            if rows and any(_row_value(r, kind) is not None for r in rows):
                if not self._takes_a_row(name, kind, args, tool):
                    continue
                picked, exact = _pick_row(
                    request, [r for r in rows if _row_value(r, kind) is not None]
                )
                if exact:
                    value = _row_value(picked[0], kind)
                    if args.get(name) != value:
                        notes.append(f"{name}: {value} is the one meant in the result before")
                        args[name] = value
                elif len(picked) > 1 and not _plural(request):
                    candidates[name] = tuple(
                        Candidate(_row_value(r, kind), _label(r), 0.5) for r in picked[:9]
                    )
                if kind is Kind.PID and (exact or name in candidates):
                    for other in [n for n, k in kinds.items() if k is Kind.PROCESS]:
                        args.pop(other, None)  # the pid names it; a name would widen it
                continue
            if kind is Kind.PID:
                self._resolve_pid(name, args, tool, request, notes, candidates)
        paths = [n for n, k in kinds.items() if k is Kind.PATH]
        if paths and paths[0] not in candidates and not (rows and paths[0] in args and notes):
            refusal = self._resolve_path(paths, args, tool, request, said, notes, candidates)
            if refusal:
                return Resolution(None, tuple(notes), candidates, refusal)
        resolved = call if args == dict(call.arguments) else ToolCall(call.tool, args)
        return Resolution(resolved, tuple(notes), candidates)

    def _takes_a_row(self, name: str, kind: Kind, args: dict[str, Any], tool: Tool) -> bool:
        """Whether a row of the turn before may fill this argument: a pid always; a path when
        the call moves or removes, or the model's path is no folder that exists (a listing
        or search of a folder keeps its folder)."""
        if kind is Kind.PID or moves_or_removes(tool):
            return True
        value = args.get(name)
        return not (isinstance(value, str) and value and _absolute(value, self.folder).is_dir())

    # -- values -------------------------------------------------------------------------
    def _tidy_values(
        self, args: dict[str, Any], tool: Tool, request: str, notes: list[str], shown: str = ""
    ) -> None:
        """Filters that only name the tool's own domain dropped; example values that neither
        the request nor the result it refers to (`shown`) says are replaced."""
        schema = tool.parameters_schema()
        required = set(schema.get("required") or [])
        domain = _domain_words(tool)
        said = set(words(f"{request} {shown}"))
        # What the words said mean too: a type word its extensions ("pdfs": pdf, "photos":
        # jpg, png...), a plural its singular.
        said |= {ext for word in said for ext in TYPE_WORDS.get(word, ())}
        said |= {word[:-1] for word in said if len(word) > 3 and word.endswith("s")}
        for name, kind in tool.kinds.items():
            value = args.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            value_words = words(value) or [value.strip()]
            if kind in (Kind.NAME, Kind.PROCESS, Kind.PATTERN, Kind.GLOB) and name not in required:
                if all(w in domain for w in value_words):
                    del args[name]
                    notes.append(
                        f"{name}: {value!r} names everything the tool covers, so no filter"
                    )
                    continue
            if kind is Kind.PATH and value.strip().lower() in EVERYTHING_WORDS:
                if not _absolute(value, self.folder).exists():
                    place = next(iter(extract(request).paths), None) or "."
                    args[name] = place
                    notes.append(f"{name}: {value!r} is no path; {place} is the place said")
                    continue
            examples = {
                str(e.arguments.get(name)).strip().lower()
                for e in tool.examples
                if name in e.arguments
            }
            if words(value) and value.strip().lower() in examples and not set(value_words) <= said:
                text = _said_text(request, tool) if kind in (Kind.TEXT, Kind.NAME) else None
                if text:
                    args[name] = text
                elif name not in required:
                    del args[name]
                else:
                    continue
                notes.append(f"{name}: {value!r} was an example's value, not the request's")
            elif (
                kind is Kind.TEXT
                and not {w for w in value_words if len(w) > 2} & said
                and _copies(tool, name)
            ):
                text = _said_text(request, tool)
                if text:
                    args[name] = text
                    notes.append(f"{name}: the request's own words, not {value!r}")

    # -- processes ----------------------------------------------------------------------
    def _resolve_pid(
        self,
        name: str,
        args: dict[str, Any],
        tool: Tool,
        request: str,
        notes: list[str],
        candidates: dict[str, tuple[Candidate, ...]],
    ) -> None:
        """A pid where the request names one process by its program, arguments or port."""
        stated_numbers = re.findall(r"\d+", request)
        names = [n for n, k in tool.kinds.items() if k is Kind.PROCESS]
        if not stated_numbers and not re.search(r"\bport\b", request, re.I):
            return  # "kill firefox": a name the tool takes as it is
        table = self.processes() if self.processes else None
        found = match_processes(request, table)
        if not found:
            return
        best = found[0]
        sure = best.score >= SURE and (len(found) == 1 or best.score - found[1].score >= LEAD)
        if sure:
            if args.get(name) != best.value:
                was = args.get(name)
                args[name] = best.value
                for other in names:
                    args.pop(other, None)
                said = f" (the model wrote {was})" if was is not None else ""
                notes.append(f"{name}: {best.label}{said}")
        elif len(found) > 1:
            candidates[name] = tuple(found[:9])
            for other in names:
                args.pop(other, None)  # the pid chosen names it; a name would widen it

    # -- paths --------------------------------------------------------------------------
    def _resolve_path(
        self,
        paths: list[str],
        args: dict[str, Any],
        tool: Tool,
        request: str,
        said: str,
        notes: list[str],
        candidates: dict[str, tuple[Candidate, ...]],
    ) -> str | None:
        """The first path argument made the thing described; a refusal when the call would
        take a whole folder for what was named in it, or drop a stated condition."""
        name = paths[0]
        value = args.get(name)
        slots = extract(said)
        folders = [p for _, p in places_said(said)] + [
            p for p, written in slots.places if written and _absolute(p, self.folder).is_dir()
        ]
        rest = folders[1:] if len(folders) >= 2 else folders  # "from X into Y"; "to Y"
        for other, place in zip(paths[1:], rest, strict=False):
            fixed = self._fix_place(args.get(other), place)
            said_first = len(folders) >= 2 and isinstance(args.get(other), str)
            if said_first and _absolute(args[other], self.folder) == _absolute(folders[0], None):
                fixed = place  # the model copied the source's folder; the request names another
            if fixed is not None and args.get(other) != place:
                notes.append(f"{other}: {place} (the model wrote {args.get(other)})")
                args[other] = place
        current = _absolute(value, self.folder) if isinstance(value, str) and value else None
        where = folders[0] if folders else None
        if where is None and current is not None and current.is_dir():
            where = str(current)
        if (
            where is None
            and current is not None
            and current.parent.is_dir()
            and not current.exists()
        ):
            where = str(current.parent)
        moving = moves_or_removes(tool)
        if current is not None and current.exists() and not current.is_dir():
            return None  # a file that exists: the model named it outright
        if moving and isinstance(value, str) and value and not (current and current.exists()):
            refusal = self._not_there(value, tool, request, said)
            if refusal:
                return refusal
        if where is None:
            where = self.folder or os.getcwd()
        skip = [w for w, _ in places_said(request)]
        found = [c for c in match_entries(where, request, skip=skip) if c.score > 0.3]
        if current is not None and current.is_dir() and found and _plural(request) and not moving:
            return None  # "the pdfs in downloads": a filter on a listing, not a target
        if found:
            best = found[0]
            sure = best.score >= SURE and (len(found) == 1 or best.score - found[1].score >= LEAD)
            if sure and not (_plural(request) and len(found) > 1):
                if not (current is not None and _absolute(str(best.value), None) == current):
                    was = f" (the model wrote {value})" if value else ""
                    notes.append(f"{name}: {best.value} fits {best.label!r}{was}")
                    args[name] = best.value
                return None
            if current is None or not current.exists() or moving:
                candidates[name] = tuple(c for c in found[:9] if c.score >= best.score - LEAD)
                return None
        if moving and current is not None and current.is_dir():
            return self._whole_folder(current, tool, request, said)
        if current is not None and not current.exists() and where:
            named = next((p for p in folders if _same_name(p, value)), None)
            if named:
                notes.append(f"{name}: {named} (the model wrote {value})")
                args[name] = named
        return None

    def _fix_place(self, value: Any, place: str) -> str | None:
        if not isinstance(value, str):
            return place
        current = _absolute(value, self.folder)
        if current.exists():
            return None
        return place if _same_name(place, value) or not value.strip() else None

    def _not_there(self, path: str, tool: Tool, request: str, said: str) -> str | None:
        """A refusal when a moving or removing call on a path that is not there yet drops a
        condition the request states: when it runs, it acts on all of it."""
        dropped = _dropped_conditions(tool, request, said, Path(os.path.expanduser(path)))
        if not dropped:
            return None
        verb = "delete" if tool.risk is Risk.DESTRUCTIVE else "move"
        return (
            f"Not planned: {tool.name} cannot keep to {'; '.join(dropped)}, so it would "
            f"{verb} all of {path}; find the files first and act on the list."
        )

    def _whole_folder(self, folder: Path, tool: Tool, request: str, said: str) -> str | None:
        """A refusal when a moving or removing call on a whole folder drops what the request
        said of it: a condition the tool cannot hold, or a thing named inside it."""
        dropped = _dropped_conditions(tool, request, said, folder)
        described = [w for w in description_words(request) if not _names_folder(w, folder)]
        if not dropped and not (described and any(w in TYPE_WORDS for w in described)):
            return None
        items, size = footprint(folder)
        what = "; ".join(dropped) or "the things named in it"
        verb = "delete" if tool.risk is Risk.DESTRUCTIVE else "move"
        return (
            f"Not planned: {tool.name} cannot keep to {what}, so it would {verb} the whole "
            f"folder {folder.name} ({items} items, {human_size(size)}); name the file, or "
            f"find them first and act on the list."
        )


def _dropped_conditions(tool: Tool, request: str, said: str, folder: Path) -> list[str]:
    """The conditions the request states that the tool has no argument to hold (a size, an
    age, a name pattern), in words; a call without them acts on everything."""
    slots = extract(said)
    kinds = set(tool.kinds.values())
    dropped = []
    if (slots.min_size or slots.max_size) and Kind.SIZE not in kinds:
        low, high = slots.min_size, slots.max_size
        dropped.append(f"bigger than {low}" if low else f"smaller than {high}")
    if (slots.modified_before or slots.modified_within) and Kind.AGE not in kinds:
        dropped.append(
            (slots.modified_before and f"older than {slots.modified_before}")
            or f"changed within {slots.modified_within}"
        )
    if slots.glob and Kind.GLOB not in kinds and not _names_folder(request, folder):
        dropped.append(f"only {slots.glob}")
    return dropped


def _plural(request: str) -> bool:
    """Whether the request speaks of several things ("the pdfs", "all", "those"); a folder
    word ("documents", "videos") is a place, not a plural."""
    if any(w in EVERYTHING_WORDS or w in ("those", "them", "these") for w in words(request)):
        return True
    return any(
        w.endswith("s") and w[:-1] in TYPE_WORDS and w not in TYPE_WORDS.get(w[:-1], ())
        for w in description_words(request)
    )


def _same_name(place: str, value: Any) -> bool:
    """Whether the model's value is the place's name with a typo or without its folder."""
    from llmos_shell.planning.entries import close_enough

    if not isinstance(value, str):
        return False
    tail = Path(os.path.expanduser(value)).name.lower()
    return close_enough(tail, Path(os.path.expanduser(place)).name.lower())


def _names_folder(text: str, folder: Path) -> bool:
    from llmos_shell.planning.entries import close_enough

    return any(close_enough(w, folder.name.lower()) for w in words(text))


def _copies(tool: Tool, name: str) -> bool:
    """Whether the tool's examples copy this argument's value from their request."""
    pairs = [
        (e.request.lower(), str(e.arguments[name]).strip().lower())
        for e in tool.examples
        if name in e.arguments
    ]
    return bool(pairs) and all(value and value in request for request, value in pairs)


def _said_text(request: str, tool: Tool) -> str | None:
    """The part of the request that is the value: after a colon, a quote, or the words that
    only ask for the tool ("note that", "add a note")."""
    quoted = re.findall(r'"([^"]+)"|(?<!\w)\'([^\']+)\'(?!\w)|\u201c([^\u201d]+)\u201d', request)
    if quoted:
        groups: tuple[str, ...] = quoted[0]  # one group per quote style, the unused ones ""
        return next(part for part in groups if part)
    if ":" in request:
        after = request.split(":", 1)[1].strip()
        if after:
            return after
    asking = set(words(tool.name.replace("_", " "))) | set(words(tool.description.split("\n")[0]))
    for example in tool.examples:
        for value in example.arguments.values():
            if isinstance(value, str) and value.lower() in example.request.lower():
                asking |= set(words(example.request.lower().split(value.lower(), 1)[0]))
    asking |= {
        "a",
        "an",
        "please",
        "new",
        "make",
        "add",
        "write",
        "put",
        "take",
        "jot",
        "down",
        "that",
        "this",
    }
    tokens = request.split()
    start = 0
    while start < len(tokens) and all(w in asking for w in words(tokens[start])):
        start += 1
    text = " ".join(tokens[start:]).strip(" .!")
    return text or None
