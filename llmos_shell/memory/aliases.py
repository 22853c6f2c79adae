"""The person's own names for things, read from the facts they state, found by meaning.

A fact that names a place ("I keep the band photos under ~/Pictures/gigs", "thesis:
~/uni/thesis", "~/code is where my projects live"), a program in a role ("my editor is
helix") or a preference ("sizes in MB") becomes an alias: the words the person uses, and
what they mean. A request names an alias when one of its phrases carries the same words or
the same meaning (the embeddings memory already has): "the concert pictures" finds "the band
photos", "my dissertation" finds "thesis". A phrase that is only the general word
("photos" for "the band photos") or a standard folder ("my documents") is not the alias.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmos_shell.vocabulary.naming import FILLER_WORDS, ORDER_WORDS, ORDINALS
from llmos_shell.vocabulary.places import (
    FOLDER_TYPOS,
    HOME_FOLDERS,
    PATH_IN_TEXT,
    place_phrases,
)
from llmos_shell.vocabulary.preferences import (
    ABOUT_THE_PERSON,
    CHOICE_WORDS,
    DETERMINERS,
    FACT_FILLER,
    LINKING_WORDS,
    PREFERENCE_SUBJECTS,
    PROGRAM_ROLES,
    STATEMENT_OPENERS,
)
from llmos_shell.vocabulary.units import size_unit_named

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

# Cosine similarity between a phrase of the request and an alias's words (both without
# determiners) from which the request names the alias. Measured on all-MiniLM-L6-v2: the
# person's other wordings of one thing ("concert pictures" / "band photos", "dissertation" /
# "thesis", "saved games" / "game saves") score 0.54-0.90, other things of theirs ("tax
# papers" / "photos", "invoices" / "documents") at most 0.46 (bench/data/aliases_dev.jsonl).
ALIAS_FLOOR = 0.6
MAX_SPAN = 4  # naming words in a phrase of the request compared with an alias

_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class Alias:
    """Words the person uses for something, and what they mean by them.

    `kind` is "place" (a path), "program" (a command, `role` the part it plays) or
    "preference" (`role` the setting, `value` its spelling, e.g. "size_unit" and "MB").
    """

    phrase: str
    value: str
    kind: str
    role: str = ""
    memory_id: str = ""


def aliases_from_fact(text: str, memory_id: str = "") -> list[Alias]:
    """The aliases a fact states (none for a fact that names no place, program or
    preference)."""
    said = " ".join(text.split()).strip().rstrip(".!")
    paths = [
        m.group().rstrip(".,:;!?/") or "/"
        for m in PATH_IN_TEXT.finditer(said)
        if m.group().rstrip(".,:;!?/") not in ("", "~")
    ]
    if len(paths) == 1:
        rest = PATH_IN_TEXT.sub(" ", said)
        phrase = _phrase(rest, FACT_FILLER)
        # "I want to find files in ~/code" asks for something; it names nothing.
        if phrase and not any(w in CHOICE_WORDS or w in LINKING_WORDS for w in key_words(phrase)):
            return [Alias(phrase, paths[0], "place", memory_id=memory_id)]
        return []
    if paths:
        return []  # "moved ~/a to ~/b": a story, not a name
    words = [w.lower() for w in _WORD.findall(said)]
    out: list[Alias] = []
    for role, subjects in PREFERENCE_SUBJECTS.items():
        if role == "size_unit" and any(w in subjects for w in words):
            units = {u.spelling for w in words if (u := size_unit_named(w)) is not None}
            if len(units) == 1:
                out.append(
                    Alias(role.replace("_", " "), units.pop(), "preference", role, memory_id)
                )
    if out:
        return out
    roles = {PROGRAM_ROLES[w] for w in words if w in PROGRAM_ROLES}
    if len(roles) == 1:
        role = roles.pop()
        role_words = {w for w, r in PROGRAM_ROLES.items() if r == role}
        named = [
            w
            for w in words
            if w not in role_words and w not in FACT_FILLER and w not in CHOICE_WORDS
        ]
        if len(named) == 1 and re.fullmatch(r"[a-z0-9][\w.+-]*", named[0]):
            return [Alias(f"my {role}", named[0], "program", role, memory_id)]
    return []


def preferences_of(aliases: Iterable[Alias]) -> dict[str, str]:
    """The preferences among `aliases` ("size_unit": "MB"); a later one wins."""
    return {a.role: a.value for a in aliases if a.kind == "preference"}


def states_a_fact(request: str) -> bool:
    """Whether a request states a fact about the person instead of asking for something:
    it opens with them or their thing (or a path), links it with a word such as "are",
    "keep" or "prefer", asks nothing, and names a place, program or preference."""
    said = " ".join(request.split())
    if not said or "?" in said:
        return False
    words = [w.lower() for w in _WORD.findall(said)]
    opens = bool(words) and (words[0] in STATEMENT_OPENERS or bool(PATH_IN_TEXT.match(said)))
    return opens and any(w in LINKING_WORDS for w in words) and bool(aliases_from_fact(said))


def _phrase(text: str, filler: frozenset[str]) -> str:
    """The words that name the thing: the text without the words that only carry it, kept
    from its first naming word to its last ("the band photos", "work laptop backups")."""
    words = _WORD.findall(text)
    keep = [i for i, w in enumerate(words) if w.lower() not in filler]
    if not keep:
        return ""
    # "my" and "the" before the first naming word stay: "my thesis", "the band photos".
    start = keep[0]
    if start > 0 and words[start - 1].lower() in DETERMINERS:
        start -= 1
    return " ".join(words[start : keep[-1] + 1]).lower()


def key_words(phrase: str) -> list[str]:
    """The words of a phrase that name something (no determiners), lower case."""
    return [w for w in _WORD.findall(phrase.lower()) if w not in DETERMINERS]


def about_the_person(query: str) -> bool:
    """Whether a recall asks about the person as a whole, naming nothing in particular."""
    words = [w.lower().strip("'") for w in _WORD.findall(query)]
    return bool(words) and all(
        w in ABOUT_THE_PERSON or w in DETERMINERS or w in FACT_FILLER for w in words
    )


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


@dataclass(frozen=True)
class Found:
    """An alias a request names: the words of the request that name it (their first and
    last word's positions, the end exclusive), and how sure."""

    alias: Alias
    words: str
    score: float
    start: int = 0
    end: int = 0


def named_aliases(
    request: str,
    aliases: Sequence[Alias],
    embed: Callable[[Sequence[str]], Vectors] | None = None,
    *,
    floor: float = ALIAS_FLOOR,
    close: Container[str] | None = None,
) -> list[Found]:
    """The place and program aliases `request` names, each once, best first.

    By its words first (every naming word of the alias is in the request), then, with
    `embed`, by meaning: the request's phrases of up to `MAX_SPAN` words against each alias
    (only those whose fact's id is in `close`, where given: the facts nearest the request,
    so a store of thousands embeds a few aliases, not all).
    """
    candidates = [a for a in aliases if a.kind in ("place", "program")]
    if not candidates:
        return []
    said = [w.lower() for w in _WORD.findall(request)]
    stems = [_stem(w) for w in said]
    found: dict[int, Found] = {}
    for number, alias in enumerate(candidates):
        keys = key_words(alias.phrase)
        if not keys or alias.value in request or not all(_stem(k) in stems for k in keys):
            continue
        where = [stems.index(_stem(k)) for k in keys]
        found[number] = Found(alias, " ".join(keys), 1.0, min(where), max(where) + 1)
    rest = [
        n
        for n in range(len(candidates))
        if n not in found
        and candidates[n].value not in request
        and (close is None or candidates[n].memory_id in close)
    ]
    if embed is not None and rest:
        found.update(_by_meaning(said, [(n, candidates[n]) for n in rest], embed, floor))
    # One phrase of the request names one alias: the closest.
    ranked = sorted(found.values(), key=lambda f: -f.score)
    out: list[Found] = []
    taken: set[int] = set()
    for item in ranked:
        span = set(range(item.start, item.end))
        if span & taken:
            continue
        taken |= span
        out.append(item)
    return out


def _by_meaning(
    said: list[str],
    aliases: list[tuple[int, Alias]],
    embed: Callable[[Sequence[str]], Vectors],
    floor: float,
) -> dict[int, Found]:
    """The aliases a phrase of the request names by meaning.

    A phrase names an alias when it is at least `floor` close to the alias's words, and
    closer to them than to the alias's last word alone ("photos" is no name for "the band
    photos", "concert pictures" is) and than to any standard folder ("my photos" means
    ~/Pictures, not "my screenshots").
    """
    spans = _spans(said)
    if not spans:
        return {}
    phrases = [" ".join(key_words(a.phrase)) for _, a in aliases]
    heads = [key_words(a.phrase)[-1] if key_words(a.phrase) else "" for _, a in aliases]
    standard = sorted(set(HOME_FOLDERS))
    texts = [*phrases, *heads, *standard, *(" ".join(words) for words, _, _ in spans)]
    vectors = embed(texts)
    count = len(aliases)
    alias_v = vectors[:count]
    head_v = vectors[count : 2 * count]
    standard_v = vectors[2 * count : 2 * count + len(standard)]
    span_v = vectors[2 * count + len(standard) :]
    to_alias = alias_v @ span_v.T
    to_head = head_v @ span_v.T
    to_standard = (standard_v @ span_v.T).max(axis=0)
    out: dict[int, Found] = {}
    for row, (number, alias) in enumerate(aliases):
        best, chosen = floor, None
        several = len(key_words(alias.phrase)) > 1
        for column, span in enumerate(spans):
            score = float(to_alias[row, column])
            if score < best or score <= float(to_standard[column]):
                continue
            if several and score <= float(to_head[row, column]):
                continue
            best, chosen = score, span
        if chosen is not None:
            words, start, end = chosen
            out[number] = Found(alias, " ".join(words), best, start, end)
    return out


def _spans(said: list[str]) -> list[tuple[tuple[str, ...], int, int]]:
    """The request's phrases that could name a thing, with where they are: runs of up to
    `MAX_SPAN` naming words that neither start nor end with a word that carries no name,
    and that are not a standard folder's own name ("documents", "my downloads")."""
    standard = {*place_phrases(), *FOLDER_TYPOS}
    naming = [_naming(w) for w in said]
    out: list[tuple[tuple[str, ...], int, int]] = []
    for start in range(len(said)):
        if not naming[start]:
            continue
        for end in range(start + 1, min(start + 2 * MAX_SPAN, len(said)) + 1):
            if not naming[end - 1]:
                continue
            inside = range(start, end)
            if any(not naming[i] and said[i] not in DETERMINERS for i in inside):
                break  # "backup of my work machine" is one name; "xlsx files in my ..." is not
            span = tuple(w for i, w in enumerate(said[start:end], start) if naming[i])
            if not span or len(span) > MAX_SPAN or " ".join(span) in standard:
                continue
            out.append((span, start, end))
    return out


def _naming(word: str) -> bool:
    """Whether a word can be part of a name (not a filler, determiner or tool word)."""
    word = word.lower()
    return not (
        word in FACT_FILLER
        or word in DETERMINERS
        or word in FILLER_WORDS
        or word in ORDER_WORDS
        or word in ORDINALS
    )


# A word after the name that only says it is a folder: "my thesis folder".
_FOLDER_WORDS = frozenset({"folder", "folders", "directory", "dir"})


def spell_out(request: str, found: Iterable[Found]) -> str:
    """The request with the person's names replaced by what they mean: "find the pdfs in my
    dissertation" becomes "find the pdfs in ~/uni/thesis", "open notes.txt in my editor"
    "open notes.txt in helix"; the request as it is where it names none."""
    words = list(_WORD.finditer(request))
    edits: list[tuple[int, int, str]] = []
    for item in found:
        if item.end <= item.start or item.end > len(words):
            continue
        start, end = item.start, item.end
        # The whole name: "my thesis folder"; with words the alias lacks ("my python
        # projects"), the name stays and what it means follows it, so nothing is widened.
        wider_start, wider_end = start, end
        while wider_start > 0 and _naming(words[wider_start - 1].group()):
            wider_start -= 1
        while wider_end < len(words) and _naming(words[wider_end].group()):
            wider_end += 1
        if (wider_start, wider_end) != (start, end):
            at = words[wider_end - 1].end()
            edits.append((at, at, f" ({item.alias.value})"))
            continue
        while start > 0 and words[start - 1].group().lower() in DETERMINERS:
            start -= 1
        if end < len(words) and words[end].group().lower() in _FOLDER_WORDS:
            end += 1
        edits.append((words[start].start(), words[end - 1].end(), item.alias.value))
    for begin, finish, value in sorted(edits, reverse=True):
        request = request[:begin] + value + request[finish:]
    return request
