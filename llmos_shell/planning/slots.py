"""Values a request states outright: paths, sizes, ages, globs, counts, sort orders, flags.

A small model often picks the right tool and then drops or garbles what the person said
("bigger than 10 megs" with no size, `~/Desktop` copied from an example). These extractors
read the request with plain patterns; `fill_arguments` then supplies what the model left
out and replaces values that nothing in the request supports. Nothing here guesses: a slot
is only filled from words that are in the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmos_shell.calls import ToolCall
from llmos_shell.planning.normalize import PATH_ARGS
from llmos_shell.vocabulary.places import FOLDER_TYPOS, HERE_IN_TEXT, place_phrases
from llmos_shell.vocabulary.units import (
    AGE_WORDS,
    DAYS_PER_UNIT,
    NUMBER_WORDS,
    SIZE_UNITS,
    normalize_size,
)

_PATH_TOKEN = re.compile(
    r"""(?:(?<=\s)|^|(?<=["'(]))((?:~|\.{1,2})?/[^\s"',;:()]*|~|\.{1,2}(?=\s|$)|[\w.@+-]+/[\w./@+-]*|[\w@+-][\w@+-]*\.[A-Za-z0-9]{1,8})(?=[\s"',;:)?!]|$)"""
)
_QUOTED = re.compile(r"""'([^']+)'|"([^"]+)\"""")

def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of literal words, longest first (so "megs" wins over "m")."""
    return "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))


# Sizes: every unit word of the size table but a bare "b" (too often a plain letter).
_SIZE = re.compile(
    r"(?P<cmp>bigger than|larger than|more than|greater than|over|above|at least|"
    r"smaller than|less than|under|below|at most|tiny files under|>|<)?\s*"
    rf"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>{_alternation(u for u in SIZE_UNITS if u != 'b')})\b",
    re.IGNORECASE,
)
_NUMBER = _alternation(NUMBER_WORDS)
_AGE = re.compile(
    r"(?P<older>older than|not (?:touched|modified|changed|used|opened)[\w\s']*? in|"
    r"haven'?t (?:touched|modified|changed|used|opened)[\w\s']*? in|"
    r"(?:nobody|no one|never) (?:touched|modified|changed|used|opened)[\w\s']*? in(?: over)?|"
    r"untouched (?:for|in)|more than)?\s*(?:the\s+)?(?:last|past|within)?\s*"
    rf"(?P<num>\d+|{_NUMBER})?"
    rf"\s*(?P<unit>{_alternation(AGE_WORDS)})s?(?P<ago>\s+ago)?\b",
    re.IGNORECASE,
)
_EXTENSIONS = {
    "pdf": "pdf",
    "pdfs": "pdf",
    "jpg": "jpg",
    "jpgs": "jpg",
    "jpeg": "jpg",
    "png": "png",
    "pngs": "png",
    "gif": "gif",
    "mp3": "mp3",
    "mp3s": "mp3",
    "mp4": "mp4",
    "mp4s": "mp4",
    "mkv": "mkv",
    "mov": "mov",
    "csv": "csv",
    "csvs": "csv",
    "txt": "txt",
    "log": "log",
    "logs": "log",
    "zip": "zip",
    "zips": "zip",
    "iso": "iso",
    "isos": "iso",
    "docx": "docx",
    "xlsx": "xlsx",
    "json": "json",
    "yaml": "yaml",
    "yml": "yml",
    "md": "md",
    "markdown": "md",
    "html": "html",
    "svg": "svg",
    "deb": "deb",
    "exe": "exe",
    "dmg": "dmg",
    "tar": "tar",
    "gz": "gz",
    "python": "py",
    "py": "py",
    "javascript": "js",
    "js": "js",
    "typescript": "ts",
    "ts": "ts",
    "rust": "rs",
    "go": "go",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "shell": "sh",
    "sh": "sh",
    "word": "docx",
    "excel": "xlsx",
}
_EXT_PHRASE = re.compile(
    r"\b(?:all\s+)?(?:the\s+)?\.?(?P<ext>[a-z0-9]+)\s+(?:files?|docs?|documents?|scripts?|"
    r"sources?|images?|photos?|videos?|songs?|archives?)\b|\b(?P<plural>pdfs|jpgs|pngs|mp3s|"
    r"mp4s|csvs|isos|zips)\b|(?<![\w*])\.(?P<dotext>[a-z0-9]{1,5})\b(?!\w)",
    re.IGNORECASE,
)
_GLOB = re.compile(r"(?<!\S)['\"]?(\*[\w.*?\[\]-]*|[\w-]*\*[\w.*-]*)['\"]?(?!\S)")
_COUNT = re.compile(
    r"\b(?P<kind>first|top|last|head -n|head|tail -n|tail|limit|just|only|biggest|largest|"
    r"-n)\s+(?P<num>\d+)\b|\b(?P<num2>\d+)\s+(?:most|biggest|largest|latest|newest|recent|"
    r"lines|entries|items|things|files|folders|processes|results)\b",
    re.IGNORECASE,
)


@dataclass
class Slots:
    """What one request says outright."""

    paths: list[str] = field(default_factory=list)
    explicit_paths: bool = False
    min_size: str | None = None
    max_size: str | None = None
    modified_within: str | None = None
    modified_before: str | None = None
    glob: str | None = None
    count: int | None = None
    count_kind: str | None = None
    sort: str | None = None
    hidden: bool = False
    dirs: bool = False
    ignore_case: bool = False
    append: bool = False
    kill_hard: bool = False
    pid: int | None = None
    quoted: list[str] = field(default_factory=list)
    process: str | None = None


def _size(match: re.Match[str]) -> str:
    """A size as the tools' canonical spelling: "10 megs" -> "10MB"."""
    return str(normalize_size(match.group("num") + match.group("unit")))


def extract(request: str) -> Slots:
    """The values `request` states, each read by a plain pattern."""
    text = " ".join(request.split())
    lowered = text.lower()
    for typo, right in FOLDER_TYPOS.items():
        lowered = re.sub(rf"\b{typo}\b", right, lowered)
    slots = Slots()
    slots.quoted = [a or b for a, b in _QUOTED.findall(text)]
    globs = [g for g in _GLOB.findall(text) if g != "*"]
    for match in _PATH_TOKEN.finditer(text):
        token = match.group(1)
        if token.strip("."):
            token = token.rstrip(".?!")
        if token in globs or re.fullmatch(r"\d[\d.]*", token) or token.startswith("*"):
            continue
        if re.fullmatch(r"\d+(?:\.\d+)?[a-z]*", token.lower()):
            continue  # "1.5gb", "2.0"
        if token.lower().startswith(("http:", "https:", "e.g", "i.e")):
            continue
        slots.paths.append(token)
    slots.explicit_paths = bool(slots.paths)
    if not slots.paths:
        for phrase, path in place_phrases().items():
            if re.search(rf"\b{phrase}\b", lowered):
                slots.paths.append(path)
                break
        else:
            if HERE_IN_TEXT.search(lowered):
                slots.paths.append(".")
            elif re.search(r"\bdid i download\b|\bi downloaded\b", lowered):
                slots.paths.append("~/Downloads")
    for match in _SIZE.finditer(lowered):
        value = _size(match)
        cmp = (match.group("cmp") or "").lower()
        if cmp.startswith(("smaller", "less", "under", "below", "at most", "tiny", "<")):
            slots.max_size = value
        elif cmp or slots.min_size is None:
            if slots.min_size is not None and cmp == "":
                slots.max_size = value  # "between 100mb and 500mb"
            else:
                slots.min_size = value
    if "between" in lowered and slots.min_size and slots.max_size is None:
        sizes = [_size(m) for m in _SIZE.finditer(lowered)]
        if len(sizes) == 2:
            slots.min_size, slots.max_size = sizes
    for match in _AGE.finditer(lowered):
        count = match.group("num")
        number = NUMBER_WORDS.get(count or "", None) if not (count or "").isdigit() else int(count)
        unit = AGE_WORDS[match.group("unit").lower()].spelling
        if number is None:
            if not re.search(r"\b(?:last|past|this|a|an|one)\s+" + match.group("unit"), lowered):
                continue
            number = 1
        days = DAYS_PER_UNIT.get(unit)
        value = f"{number * days}d" if days else f"{number}{unit}"
        if match.group("older"):
            slots.modified_before = value
        else:
            slots.modified_within = value
    if slots.modified_within is None and slots.modified_before is None:
        if re.search(r"\byesterday\b", lowered):
            slots.modified_within = "1d"
        elif re.search(r"\btoday\b|\bthis morning\b", lowered):
            slots.modified_within = "today"
    explicit = [g for g in globs if "*" in g]
    if explicit:
        slots.glob = explicit[0]
    else:
        for match in _EXT_PHRASE.finditer(lowered):
            word = match.group("ext") or match.group("plural") or match.group("dotext") or ""
            ext = _EXTENSIONS.get(word)
            if ext and not any(p.lower().endswith("." + word) for p in slots.paths):
                slots.glob = f"*.{ext}"
                break
    for match in _COUNT.finditer(lowered):
        slots.count = int(match.group("num") or match.group("num2"))
        slots.count_kind = (match.group("kind") or "").lower() or None
        break
    if re.search(r"\b(?:cpu|processor)\b", lowered):
        slots.sort = "cpu"
    elif re.search(r"\b(?:memory|ram|mem)\b", lowered):
        slots.sort = "memory"
    elif re.search(r"\b(?:biggest|largest|by size|big ones|size order|heaviest)", lowered) or (
        re.search(r"(?:^|\s)-[lahr1]*S[lahr1]*\b", text)
    ):
        slots.sort = "size"
    elif re.search(
        r"\b(?:newest|latest|most recent(?:ly)?|by date|by time|recently|last modified)",
        lowered,
    ) or re.search(r"(?:^|\s)-[lahr1]*t[lahr1]*\b", text):
        slots.sort = "modified"
    elif re.search(r"\bby pid\b", lowered):
        slots.sort = "pid"
    elif re.search(r"\bby name\b|alphabetical", lowered):
        slots.sort = "name"
    slots.hidden = bool(
        re.search(r"\bhidden\b|\bdot ?files\b|(?:^|\s)-[lhtrsS1]*a[lhtrsS1]*\b", lowered)
    )
    slots.dirs = bool(re.search(r"\b(?:folders|directories|dirs)\b|-type d\b", lowered))
    slots.ignore_case = bool(
        re.search(
            r"any case|ignor\w* case|case[- ]insensitive|upper or lower|\s-[rRnlwHE]*i[rRnlwHE]*\b",
            lowered,
        )
    )
    slots.append = bool(re.search(r"\bappend\b|\badd\b.*\bto\b|>>|to the end of", lowered))
    slots.kill_hard = bool(
        re.search(r"-9\b|-kill\b|sigkill|\bforce\b|\bhard\b|\bfrozen\b|\bfroze\b", lowered)
    )
    if re.search(r"\b(?:pid|process|kill|stop|end|terminate|sig\w*)\b", lowered):
        numbers = re.findall(r"(?<![\w.-])(\d{2,7})(?![\w.])", lowered)
        if len(numbers) == 1:
            slots.pid = int(numbers[0])
    process = _PROCESS.search(lowered)
    name = next((g for g in process.groups() if g), None) if process else None
    if name and name not in _NOT_PROCESS:
        slots.process = name
    return slots


# "ps aux | grep node", "pkill -9 zoom", "is docker running", "force quit slack"
_PROCESS = re.compile(
    r"(?:\b(?:grep|pgrep|pkill|killall)(?:\s+-\S+)*\s+([a-z][\w.-]*)"
    r"|\bis\s+([a-z][\w.-]*)\s+(?:running|up|alive|open)\b"
    r"|\b(?:force[- ]quit|force[- ]close|quit|close)\s+([a-z][\w.-]*))"
)
_NOT_PROCESS = frozenset(
    {"the", "it", "this", "that", "them", "all", "my", "a", "an", "every", "everything"}
)


def _grounded(value: Any, request: str, *, bare_ok: bool = True) -> bool:
    """Whether a string value's words appear in the request.

    A value with no words ("~", ".") counts as grounded only with `bare_ok`: for a path,
    the request naming another path says the bare one was a guess.
    """
    if not isinstance(value, str):
        return True
    words = re.findall(r"[a-z0-9]{2,}", value.lower())
    lowered = request.lower()
    return all(word in lowered for word in words) if words else bare_ok


def _same_place(written: str, stated: str) -> bool:
    """Whether `written` is the stated path made longer ("/home/a/x.txt" for "x.txt")."""
    tail = stated.strip().removeprefix("./").rstrip("/")
    written = written.strip().removeprefix("./").rstrip("/")
    if written == tail:
        return True
    if not tail or tail in (".", "~") or tail.startswith(("~", "/")):
        return False  # an absolute or home path is only itself
    return written.startswith("/") and written.endswith("/" + tail)


def fill_arguments(call: ToolCall, schema: Mapping[str, Any], request: str) -> ToolCall:
    """The call with the values the request states put where the model missed them."""
    props: Mapping[str, Any] = schema.get("properties", {})
    slots = extract(request)
    args = dict(call.arguments)

    def enum_ok(name: str, value: Any) -> bool:
        spec = props.get(name, {})
        options = spec.get("enum") or [
            v for option in spec.get("anyOf", []) for v in option.get("enum", [])
        ]
        return not options or value in options

    def put(name: str, value: Any, *, override: bool = True, exact: bool = False) -> None:
        if name not in props or value is None or not enum_ok(name, value):
            return
        current = args.get(name)
        if isinstance(current, str) and isinstance(value, str) and _same_place(current, value):
            return  # the model spelled out the stated path in full
        is_path = name in PATH_ARGS
        if (
            current in (None, "")
            or exact
            or (override and not _grounded(current, request, bare_ok=not is_path))
        ):
            args[name] = value

    if "source" in props and "destination" in props:
        if len(slots.paths) >= 2:
            put("source", slots.paths[0], exact=slots.explicit_paths)
            put("destination", slots.paths[-1], exact=slots.explicit_paths)
    elif "path" in props and slots.paths:
        # A path written out beats the model's; one read from words ("downloads", "here")
        # only replaces a guess ("tmp" in "the tmp folder in this project" stays).
        put("path", slots.paths[0], exact=slots.explicit_paths)
    # Sizes and ages read with their units beat the model's spelling ("10" for "10 megs").
    for name in ("min_size", "max_size", "modified_within", "modified_before"):
        value = getattr(slots, name)
        if value is not None and name in props:
            args[name] = value
    if slots.glob:
        if "glob" in props:
            put("glob", slots.glob)
        elif "name" in props and call.tool == "find_files":
            put("name", slots.glob)
    if slots.sort:
        put("sort_by", slots.sort, override=False)
    if slots.count is not None:
        kind = slots.count_kind or ""
        if "tail" in props and kind in ("last", "tail", "tail -n"):
            put("tail", slots.count, override=False)
        elif "head" in props and kind in ("first", "head", "head -n", "-n", "top"):
            put("head", slots.count, override=False)
        elif "top" in props:
            put("top", slots.count, override=False)
        elif "limit" in props:
            put("limit", slots.count, override=False)
    for name in ("show_hidden", "include_hidden"):
        if slots.hidden and name in props and not args.get(name):
            args[name] = True
    if slots.dirs and "type" in props and args.get("type") in (None, "any", "file"):
        if call.tool == "find_files" and enum_ok("type", "dir"):
            args["type"] = "dir"
    if slots.ignore_case and "ignore_case" in props:
        args["ignore_case"] = True
    if slots.append and "mode" in props and enum_ok("mode", "append"):
        args["mode"] = "append"
    if slots.kill_hard and "signal" in props and enum_ok("signal", "KILL"):
        args["signal"] = "KILL"
    elif args.get("signal") == "KILL" and "signal" in props:
        del args["signal"]  # a forced kill only when the person asks for one; TERM first
    if slots.pid is not None and "pid" in props:
        put("pid", slots.pid)
    elif "pid" in props and args.get("pid") == 9 and slots.kill_hard:
        del args["pid"]  # the 9 of "kill -9", not a process id
    if slots.process and "name" in props and ("pid" in props or "sort_by" in props):
        if ("pid" not in props or slots.pid is None) and args.get("name") != slots.process:
            args["name"] = slots.process
            args.pop("pid", None)
    if slots.quoted and "content" in props and not _grounded(args.get("content"), request):
        args["content"] = slots.quoted[0] + "\n"
    return call if args == dict(call.arguments) else ToolCall(call.tool, args)
