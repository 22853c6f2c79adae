"""Fitting a request's prompt into the model's context, leaving out what is worth least first.

A prompt that would not fit with room for the reply is not refused: the planner tries ever
smaller versions of it, in this order, and uses the first that fits. First the examples go
(those chosen for the request and from memory, then the static ones), then the person's notes
from memory; then the results so far are shortened, the oldest first (those of the requests
before this one) and the latest last, each to its head and tail with a line saying how much
was cut. The request itself is never cut.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# A result is never shortened below this many characters: its head and tail still say
# what kind of thing came back.
RESULT_FLOOR = 160


@dataclass(frozen=True)
class Trim:
    """What one version of a prompt leaves out; the default leaves out nothing."""

    chosen: bool = False  # the examples chosen for the request (and from memory) are left out
    static: bool = False  # the example turns of the static prefix are left out too
    notes: bool = False  # the person's notes from memory are left out
    earlier: int | None = None  # the characters the results of earlier requests keep
    # Per step of the request, the characters its result keeps (None: as usual).
    result_chars: tuple[int | None, ...] = ()

    def result_limit(self, index: int) -> int | None:
        """The characters the result of step `index` keeps; None: as usual."""
        return self.result_chars[index] if index < len(self.result_chars) else None

    def describe(self, window: int, results: Sequence[int]) -> str:
        """One sentence for the person: what was left out to fit a `window`-token context;
        `results` are the results' usual lengths in characters."""
        left = [
            what
            for what, out in (
                ("the examples", self.chosen or self.static),
                ("your notes", self.notes),
            )
            if out
        ]
        parts = [" and ".join(left) + " were left out"]  # "the examples", "your notes"
        parts = parts if left else []
        if self.earlier is not None:
            parts.append("the results of the requests before were shortened")
        cut = [
            (limit, size)
            for limit, size in zip(self.result_chars, results, strict=False)
            if limit is not None and limit < size
        ]
        if cut:
            dropped = sum(size - limit for limit, size in cut)
            what = "a result was" if len(cut) == 1 else f"{len(cut)} results were"
            parts.append(f"{what} shortened by {dropped} characters")
        return f"to fit the model's context of {window} tokens, {' and '.join(parts)}"


def trims(
    results: Sequence[int], *, chosen: bool, static: bool, notes: bool, earlier: int = 0
) -> Iterator[Trim]:
    """The versions of a prompt to try after the whole one, each leaving out more.

    `results` are the usual lengths, in characters, of the results of the request's steps,
    oldest first; `earlier` that of the longest result of the requests before it, which
    are older still; `chosen`, `static` and `notes` say whether the prompt has any to leave
    out.
    """
    trim = Trim()
    if chosen:
        trim = Trim(chosen=True)
        yield trim
    if static:  # after the chosen ones: the static prefix is what the backend has cached
        trim = Trim(chosen=True, static=True)
        yield trim
    if notes:
        trim = Trim(trim.chosen, trim.static, notes=True)
        yield trim
    while earlier > RESULT_FLOOR:
        earlier = max(RESULT_FLOOR, earlier // 2)
        trim = Trim(trim.chosen, trim.static, trim.notes, earlier)
        yield trim
    limits: list[int | None] = [None] * len(results)  # None: as usual
    for index, size in enumerate(results):  # the oldest result first, the latest last
        while size > RESULT_FLOOR:
            size = max(RESULT_FLOOR, size // 2)
            limits[index] = size
            yield Trim(trim.chosen, trim.static, trim.notes, trim.earlier, tuple(limits))


def shorten(text: str, limit: int) -> str:
    """`text` in about `limit` characters: its head and its tail, and between them a line
    that says how much was cut. Whole lines are kept where the text has lines."""
    if len(text) <= limit:
        return text
    half = max(1, limit // 2)
    head, tail = text[:half], text[-half:]
    end = head.rfind("\n")
    if end > half // 2:
        head = head[:end]
    start = tail.find("\n")
    if 0 <= start < half // 2:
        tail = tail[start + 1 :]
    middle = text[len(head) : len(text) - len(tail)]
    lines = middle.count("\n")
    said = f"{len(middle)} characters" + (f" ({lines} lines)" if lines > 1 else "")
    return f"{head}\n[... {said} cut here to fit the model's context ...]\n{tail}"
