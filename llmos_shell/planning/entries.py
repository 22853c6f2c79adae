"""Matching what a person calls a thing against the real things: folder entries, folder words.

"the ubuntu iso", "my insurance letter", "the pdf from last week", "installer.deb": each
word of the description is scored against each entry of the folder it names (the words of
the entry's name, its extension and the type words for it, its age, its size), with edit
distance forgiving typos. The result is a ranked list of candidates, each with a score in
[0, 1], so the resolver can take the one that clearly leads or ask which.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmos_shell.vocabulary.naming import FILLER_WORDS, ORDER_WORDS, TYPE_WORDS
from llmos_shell.vocabulary.places import FOLDER_SYNONYMS, HOME_FOLDERS, PATH_IN_TEXT

MAX_ENTRIES = 2000  # a folder bigger than this is read this far only


@dataclass(frozen=True)
class Candidate:
    """One thing a description may mean: its value (a path or a pid), a label, a score."""

    value: str | int
    label: str
    score: float


def words(text: str) -> list[str]:
    """The lower-case words of a text, split at anything that is not a letter or digit."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.findall(r"[a-z0-9]+", spaced.lower())


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopped early once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        best = row[0]
        for j, cb in enumerate(b, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
            prev, row[j] = row[j], cur
            best = min(best, cur)
        if best > limit:
            return limit + 1
    return row[-1]


def close_enough(said: str, name: str) -> bool:
    """Whether `said` is `name` with a typo: one edit for words of 4+ letters, two for 7+."""
    if said == name:
        return True
    if len(said) < 4 or len(name) < 4:
        return False
    allowed = 2 if min(len(said), len(name)) >= 7 else 1
    if allowed == 2 and said[0] != name[0]:
        allowed = 1  # two slips and a wrong first letter: another word ("lecture", "picture")
    return edit_distance(said, name, allowed) <= allowed


def folder_word(word: str) -> str | None:
    """The standard folder a single word names, typos forgiven ("downlods": ~/Downloads)."""
    for name, path in HOME_FOLDERS.items():
        for form in (name, name.rstrip("s")):
            if close_enough(word, form):
                return path
    return None


def places_said(request: str) -> list[tuple[str, str]]:
    """(word as said, folder) for every standard folder the request names, typos forgiven."""
    out: list[tuple[str, str]] = []
    lowered = request.lower()
    for phrase, path in FOLDER_SYNONYMS.items():
        if phrase in lowered:
            out.append((phrase, path))
    # A word inside a path written out ("~/uni/lectures") is part of that path, no folder.
    for word in words(PATH_IN_TEXT.sub(" ", request)):
        found = folder_word(word)
        if found is not None and found not in (p for _, p in out):
            out.append((word, found))
    return out


def description_words(request: str, skip: Iterable[str] = ()) -> list[str]:
    """The words of a request that may describe a thing: not filler, not a place word."""
    skipped = set(skip)
    return [
        w
        for w in words(request)
        if w not in FILLER_WORDS and w not in skipped and folder_word(w) is None and len(w) > 1
    ]


@dataclass(frozen=True)
class _Entry:
    path: Path
    name: str
    words: tuple[str, ...]
    ext: str
    size: int
    mtime: float
    is_dir: bool


def _entries(folder: Path) -> list[_Entry]:
    found: list[_Entry] = []
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                if item.name.startswith("."):
                    continue
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                stem, dot, ext = item.name.rpartition(".")
                base = stem if dot and stem else item.name
                is_dir = item.is_dir(follow_symlinks=False)
                found.append(
                    _Entry(
                        Path(item.path),
                        item.name,
                        tuple(words(base)),
                        "" if is_dir or not dot else ext.lower(),
                        st.st_size,
                        st.st_mtime,
                        is_dir,
                    )
                )
                if len(found) >= MAX_ENTRIES:
                    break
    except OSError:
        return []
    return found


_AGE_DAYS = {"today": 1.0, "yesterday": 2.0, "week": 7.0, "month": 31.0, "year": 366.0}


def _word_score(word: str, entry: _Entry) -> float:
    """How well one word of a description fits one entry (0 when it says nothing of it)."""
    if word == entry.name.lower():
        return 3.0
    if word in entry.words or (entry.ext and word == entry.ext):
        return 1.0
    if word in TYPE_WORDS:
        return 0.6 if entry.ext in TYPE_WORDS[word] else -0.5
    if any(close_enough(word, w) for w in entry.words):
        return 0.7
    if len(word) >= 4 and any(
        w.startswith(word) or word.startswith(w) for w in entry.words if len(w) >= 4
    ):
        return 0.6
    return 0.0


def match_entries(
    folder: str | Path, request: str, *, skip: Sequence[str] = (), now: float | None = None
) -> list[Candidate]:
    """The entries of `folder` the request may mean, best first, each with a score in [0, 1].

    A whole name said outright ("installer.deb") scores 1; otherwise the share of the
    description's words that fit the entry, with age words ("last week") and order words
    ("the biggest") breaking ties. An entry no word fits is no candidate.
    """
    root = Path(os.path.expanduser(str(folder)))
    entries = _entries(root)
    if not entries:
        return []
    lowered = request.lower()
    said = description_words(request, skip)
    names = {w.lower() for w in re.findall(r"[\w@+-]+(?:\.[\w@+-]+)+", request)}
    age_words = [w for w in said if w in _AGE_DAYS]
    orders = [ORDER_WORDS[w] for w in words(request) if w in ORDER_WORDS]
    content = [w for w in said if w not in _AGE_DAYS and w not in ORDER_WORDS]
    now = time.time() if now is None else now
    scored: list[tuple[float, _Entry]] = []
    for entry in entries:
        if entry.name.lower() in names:
            scored.append((1.0, entry))
            continue
        fits = [_word_score(w, entry) for w in content]
        positive = [f for f in fits if f > 0]
        if content and not positive:
            continue
        score = sum(min(f, 1.0) for f in fits) / max(len(content), 1) if content else 0.0
        for word in age_words:
            days = (now - entry.mtime) / 86400
            score += 0.15 if days <= _AGE_DAYS[word] else -0.3
        if not content and not age_words:
            continue
        scored.append((max(0.0, min(score, 0.99)), entry))
    if orders and scored:
        field, high = orders[0]
        top = max if high else min
        pick = top(scored, key=lambda pair: getattr(pair[1], field))
        scored = [(s + (0.2 if pair is pick else 0.0), e) for pair in scored for s, e in [pair]]
    scored.sort(key=lambda pair: (-pair[0], pair[1].name))
    if "folder" in lowered or "directory" in lowered:
        scored.sort(key=lambda pair: (-pair[0], not pair[1].is_dir, pair[1].name))
    return [
        Candidate(_shown(e.path), e.name + ("/" if e.is_dir else ""), round(min(s, 1.0), 2))
        for s, e in scored
        if s > 0
    ]


def _shown(path: Path) -> str:
    """A path as a person writes it: under the home folder as ~/..."""
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home) :] if text == home or text.startswith(home + os.sep) else text
