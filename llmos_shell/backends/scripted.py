"""A backend that replays canned replies: for testing the pipeline's logic, never the model.

It implements the whole `Backend` interface, so a change to the interface that it does not
follow fails the type check and the interface test, rather than drifting unnoticed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmos_shell.backends.base import (
    BaseBackend,
    ChatMessage,
    GenerateCall,
    Generation,
    GenerationStats,
)
from llmos_shell.errors import Cancelled, ContextOverflowError

Reply = str | dict[str, Any] | BaseException


@dataclass
class ScriptedBackend(BaseBackend):
    """Returns canned replies in order; a reply that is an exception is raised instead.

    Each reply is streamed to `on_text` five characters at a time, and `cancel` is checked
    between pieces, as the real backends check it between tokens.
    """

    replies: list[Reply] = field(default_factory=list)
    name: str = "scripted"
    stats: GenerationStats = field(default_factory=GenerationStats)
    requests: list[tuple[list[ChatMessage], dict[str, Any] | None]] = field(default_factory=list)
    prepared: list[list[ChatMessage]] = field(default_factory=list)
    closed: bool = False
    piece_delay_s: float = 0.0  # time between pieces, as a model takes between tokens
    tool_format: None = None  # canned replies are written in the planner's own format
    window: int | None = None  # a context window, for testing what the planner leaves out
    chars_per_token: int = 4

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Nothing to evaluate; the prefix is kept for tests to look at."""
        self.prepared.append(list(prefix))

    def _generate(self, call: GenerateCall) -> Generation:
        """The next canned reply, streamed to `on_text` a few characters at a time."""
        messages, schema, on_text, cancel = call.messages, call.schema, call.on_text, call.cancel
        self.requests.append((list(messages), schema))
        used = self.count_tokens(messages)
        if self.window is not None and used is not None and used + 8 > self.window:
            raise ContextOverflowError(used, self.window)  # as the real backends refuse it
        if not self.replies:
            raise AssertionError("the scripted backend has no reply left")
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        text = reply if isinstance(reply, str) else json.dumps(reply)
        shown = ""
        for start in range(0, len(text), 5):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if self.piece_delay_s:
                time.sleep(self.piece_delay_s)
            piece = text[start : start + 5]
            shown += piece
            if on_text is not None and on_text(piece):
                break
        gen = Generation(
            text=shown,
            prompt_tokens=0,
            cached_tokens=0,
            completion_tokens=len(shown),
            prompt_s=0.0,
            total_s=0.0,
        )
        return gen

    def count_tokens(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> int | None:
        """One token per `chars_per_token` characters of the messages, when a test gives the
        backend a context window; None otherwise (canned replies have no tokenizer)."""
        if self.window is None:
            return None
        chars = sum(len(m.content) + len(json.dumps(m.tool_calls)) for m in messages)
        return chars // self.chars_per_token + 4 * len(messages)

    def context_window(self) -> int | None:
        """The window a test gave it; None: unbounded."""
        return self.window

    def describe(self) -> str:
        """One line for /model."""
        return "scripted test backend"

    def close(self) -> None:
        """Mark the backend closed."""
        self.closed = True
