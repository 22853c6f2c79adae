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
from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind
from llmos_shell.registry.schema_walk import choices
from llmos_shell.vocabulary.choices import CHOICE_PHRASES, stated_choices, stated_flags
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
    places: list[tuple[str, bool]] = field(default_factory=list)  # every path said, in order
    min_size: str | None = None
    max_size: str | None = None
    modified_within: str | None = None
    modified_before: str | None = None
    glob: str | None = None
    count: int | None = None
    count_kind: str | None = None
    choices: list[str] = field(default_factory=list)  # enum values stated ("size", "append")
    size_numbers: set[float] = field(default_factory=set)  # the numbers of stated sizes
    age_numbers: set[float] = field(default_factory=set)  # the numbers of stated ages
    flags: set[str] = field(default_factory=set)  # switches stated in other words ("hidden")
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
    mentions: list[tuple[int, str, bool]] = []  # (where, path, written out)
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
        mentions.append((match.start(1), token, True))
    slots.explicit_paths = bool(slots.paths)
    taken: set[int] = set()
    for phrase, path in place_phrases().items():
        for found in re.finditer(rf"\b{phrase}\b", lowered):
            if not taken & set(range(found.start(), found.end())):
                taken |= set(range(found.start(), found.end()))
                mentions.append((found.start(), path, False))
    slots.places = [(path, written) for _, path, written in sorted(mentions)]
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
        slots.size_numbers.add(float(match.group("num")))
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
        if count and count.isdigit():
            slots.age_numbers.add(float(count))
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
    slots.choices = stated_choices(text)
    slots.flags = stated_flags(text)
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


FIRST_WORDS = frozenset({"first", "head", "head -n", "-n", "top"})
LAST_WORDS = frozenset({"last", "tail", "tail -n"})


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def fill_arguments(call: ToolCall, tool: Tool, request: str) -> ToolCall:
    """The call with the values the request states put where the model missed them.

    Everything is keyed on what each argument holds (its kind), never on a tool's name:
    stated paths go to path arguments (two of them: from, then to), sizes and ages to size
    and age arguments (two of them: the lower bound, then the upper), counts by whether
    they count from the start or the end, enum values the request states to the argument
    that offers them, switches the request names. An enum value the request does not state
    goes back to the tool's default.
    """
    schema = tool.parameters_schema()
    props: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required") or [])
    kinds = tool.kinds
    slots = extract(request)
    args = dict(call.arguments)

    def named(kind: Kind) -> list[str]:
        return [name for name in props if kinds.get(name) is kind]

    def put(name: str, value: Any, *, override: bool = True, exact: bool = False) -> None:
        if value is None or not _enum_ok(props.get(name, {}), value):
            return
        current = args.get(name)
        if isinstance(current, str) and isinstance(value, str) and _same_place(current, value):
            return  # the model spelled out the stated path in full
        is_path = kinds.get(name) is Kind.PATH
        if (
            current in (None, "")
            or exact
            or (override and not _grounded(current, request, bare_ok=not is_path))
        ):
            args[name] = value

    # Paths inside a command line belong to the command, not to its other arguments.
    paths = named(Kind.PATH) if not named(Kind.COMMAND) else []
    if len(paths) >= 2 and len(slots.places) >= 2:
        (first, first_written), (last, last_written) = slots.places[0], slots.places[-1]
        put(paths[0], first, exact=first_written)
        put(paths[-1], last, exact=last_written)
    elif paths and slots.paths:
        # A path written out beats the model's; one read from words ("downloads", "here")
        # only replaces a guess ("tmp" in "the tmp folder in this project" stays).
        put(paths[0], slots.paths[0], exact=slots.explicit_paths)
    # Sizes and ages read with their units beat the model's spelling ("10" for "10 megs").
    for kind, low, high in (
        (Kind.SIZE, slots.min_size, slots.max_size),
        (Kind.AGE, slots.modified_within, slots.modified_before),
    ):
        names = named(kind)
        if len(names) >= 2:
            for name, value in ((names[0], low), (names[1], high)):
                if value is not None:
                    args[name] = value
        elif names and (low or high):
            args[names[0]] = low or high
    for name in named(Kind.GLOB)[:1]:
        put(name, slots.glob)
    if slots.count is not None:
        qualifier = slots.count_kind or ""
        if qualifier in LAST_WORDS and named(Kind.COUNT_LAST):
            target = named(Kind.COUNT_LAST)
        elif qualifier in FIRST_WORDS and named(Kind.COUNT_FIRST):
            target = named(Kind.COUNT_FIRST)
        else:
            target = named(Kind.COUNT)
        for name in target[:1]:
            put(name, slots.count, override=False)
    # A count from the end when the request counts from the start, or the other way round.
    if (slots.count_kind or "") in FIRST_WORDS:
        for name in named(Kind.COUNT_LAST):
            args.pop(name, None)
    elif (slots.count_kind or "") in LAST_WORDS:
        for name in named(Kind.COUNT_FIRST):
            args.pop(name, None)
    said = _words(request)
    for name in named(Kind.CHOICE):
        options = _enum_values(props.get(name, {}))
        lowered = {str(o).lower(): o for o in options}
        stated = next((lowered[c] for c in slots.choices if c in lowered), None)
        if stated is None:
            stated = _named_option(options, request)
        if stated is not None:
            args[name] = stated
        elif name not in required and name in args:
            value = args[name]
            default = props.get(name, {}).get("default")
            word = str(value).lower()
            # A value of the phrase table is stated only by its phrases ("KILL" by "-9" or
            # "force", not by the verb "kill"); any other value by its own word.
            mentioned = word in slots.choices or (word not in CHOICE_PHRASES and word in said)
            if value != default and not mentioned:
                del args[name]  # not what the request says: the tool's default
    for name in named(Kind.FLAG):
        if (_words(name) - _GENERIC) & (slots.flags | said):
            args[name] = True
    for name in named(Kind.PID)[:1]:
        put(name, slots.pid)
    processes = named(Kind.PROCESS)
    if slots.process and processes:
        pid_stated = slots.pid is not None and bool(named(Kind.PID))
        if not pid_stated and args.get(processes[0]) != slots.process:
            args[processes[0]] = slots.process
            for name in named(Kind.PID):
                args.pop(name, None)
    texts = named(Kind.TEXT)
    if slots.quoted and texts and not _grounded(args.get(texts[0]), request):
        args[texts[0]] = slots.quoted[0] + "\n"
    return call if args == dict(call.arguments) else ToolCall(call.tool, args)


def _named_option(options: list[Any], request: str) -> Any:
    """The one enum value the request names in its own words ("lights off", "in celsius",
    "warm white"); None when it names none, or more than one."""
    text = " ".join(re.findall(r"[a-z0-9]+", request.lower()))
    named = [
        option
        for option in options
        if isinstance(option, str)
        and option.lower() not in CHOICE_PHRASES  # stated only by its phrases ("-9", "force")
        and (phrase := " ".join(re.findall(r"[a-z0-9]+", option.lower())))
        and not phrase.isdigit()
        and re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text)
    ]
    return named[0] if len(named) == 1 else None


# Words of switch names that say nothing by themselves ("show_hidden": only "hidden" counts).
_GENERIC = frozenset({"show", "include", "ignore", "use", "create", "all", "only", "is", "with"})


def _enum_values(spec: Mapping[str, Any]) -> list[Any]:
    return choices(spec)


def _enum_ok(spec: Mapping[str, Any], value: Any) -> bool:
    options = _enum_values(spec)
    return not options or value in options
