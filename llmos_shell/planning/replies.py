"""Reading the model's reply: the action it chose, an answer as it streams, loops cut short."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmos_shell.backends.base import Generation
from llmos_shell.calls import ToolCall
from llmos_shell.errors import TruncatedOutputError

if TYPE_CHECKING:
    from llmos_shell.planning.entries import Candidate


@dataclass(frozen=True)
class Action:
    """What the model decided for one step: exactly one of `call` and `answer` is set."""

    call: ToolCall | None
    answer: str | None
    generation: Generation | None = None
    # What the resolver changed in the model's call and why (shown by /why), and the
    # things an argument may mean when several fit (the shell asks which).
    notes: tuple[str, ...] = ()
    candidates: Mapping[str, tuple[Candidate, ...]] = field(default_factory=dict)


def parse_action(generation: Generation) -> Action:
    """Read the model's JSON; a reply cut off by the token limit keeps what it said."""
    text = generation.text.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        partial = _partial_answer(text)
        if partial is not None:
            return Action(call=None, answer=partial.rstrip() + " …", generation=generation)
        raise TruncatedOutputError(text) from None
    if "answer" in data:
        return Action(call=None, answer=str(data["answer"]).strip(), generation=generation)
    return Action(
        call=ToolCall(tool=data["tool"], arguments=dict(data.get("arguments") or {})),
        answer=None,
        generation=generation,
    )


_ANSWER_START = re.compile(r'^\s*\{\s*"answer"\s*:\s*"')


def _partial_answer(text: str) -> str | None:
    match = _ANSWER_START.match(text)
    if not match:
        return None
    decoder = JsonStringDecoder()
    return decoder.feed(text[match.end() :])


class JsonStringDecoder:
    """Decodes the inside of a JSON string piece by piece, stopping at its closing quote."""

    def __init__(self) -> None:
        self._pending = ""
        self.done = False

    def feed(self, chunk: str) -> str:
        """Decoded characters that `chunk` completes."""
        out: list[str] = []
        data = self._pending + chunk
        self._pending = ""
        i = 0
        while i < len(data) and not self.done:
            char = data[i]
            if char == '"':
                self.done = True
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            if i + 1 >= len(data):
                self._pending = data[i:]
                break
            code = data[i + 1]
            if code == "u":
                if i + 6 > len(data):
                    self._pending = data[i:]
                    break
                try:
                    out.append(chr(int(data[i + 2 : i + 6], 16)))
                except ValueError:
                    pass
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(code, code))
            i += 2
        return "".join(out)


def repeated_tail(text: str, max_period: int | None = None) -> int:
    """Length of a loop at the end of `text` (a piece repeated back to back), or 0.

    Small models fall into loops ("and you can use it, and you can use it, ..."); a piece of
    20+ characters seen twice in a row, or 8+ seen three times, counts as one.
    """
    n = len(text)
    longest = n // 2 if max_period is None else min(n // 2, max_period)
    for period in range(8, longest + 1):
        copies = 2 if period >= 20 else 3
        if period * copies > n:
            break
        unit = text[n - period :]
        if all(text[n - k * period : n - (k - 1) * period] == unit for k in range(2, copies + 1)):
            return period * (copies - 1)
    return 0


_CALL_LOOP_PERIOD = 120  # longest repeated piece looked for inside a call


class AnswerStreamer:
    """Watches a generation: passes on the text of an answer, stops it when it loops or runs
    past `max_answer_pieces`, and stops a call that loops inside its arguments."""

    def __init__(
        self, sink: Callable[[str], None] | None, max_answer_pieces: int | None = None
    ) -> None:
        self._sink = sink
        self._buffer = ""
        self._decoder: JsonStringDecoder | None = None
        self._not_answer = False
        self._max_answer_pieces = max_answer_pieces
        self._answer_pieces = 0
        self.answer = ""
        self.looped = False
        self.call_looped = False

    def feed(self, piece: str) -> bool:
        """Take one generated piece; returns True when the generation should stop."""
        if self._not_answer:
            self._buffer += piece
            if repeated_tail(self._buffer, _CALL_LOOP_PERIOD):
                self.call_looped = True
                return True
            return False
        if self._decoder is None:
            self._buffer += piece
            match = _ANSWER_START.match(self._buffer)
            if match is None:
                # The grammar allows only {"tool": ...} or {"answer": ...}.
                self._not_answer = re.sub(r"\s+", "", self._buffer).startswith('{"t')
                return False
            self._decoder = JsonStringDecoder()
            piece = self._buffer[match.end() :]
        text = self._decoder.feed(piece)
        self._answer_pieces += 1
        if self._max_answer_pieces is not None and self._answer_pieces > self._max_answer_pieces:
            return True
        if not text:
            return False
        self.answer += text
        loop = repeated_tail(self.answer)
        if loop:
            self.answer = self.answer[: len(self.answer) - loop]
            self.looped = True
            return True
        if self._sink is not None:
            self._sink(text)
        return False
