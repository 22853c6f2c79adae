"""Natural language to one shell command (`llmos suggest`).

The model writes `{"command": "..."}` under a grammar, after the most similar examples from
a pool of NL2Bash pairs (MIT). A command that does not parse (tree-sitter-bash) is
generated again with some randomness, never shown.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from llmos_shell.backends.base import Backend, ChatMessage
from llmos_shell.errors import NoCommandError
from llmos_shell.prompts import load_prompt
from llmos_shell.retrieval.bm25 import BM25Index
from llmos_shell.safety.shell import analyse

COMMAND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"command": {"type": "string"}},  # no length bounds: they slow the grammar
    "required": ["command"],
    "additionalProperties": False,
}
MAX_ATTEMPTS = 4


@dataclass(frozen=True)
class Exemplar:
    """One request and the command that does it."""

    request: str
    command: str


@functools.lru_cache(maxsize=1)
def exemplar_pool() -> tuple[tuple[Exemplar, ...], BM25Index]:
    """The shipped NL2Bash pairs and their search index, loaded once."""
    pool = tuple(
        Exemplar(item["nl"], item["cmd"])
        for item in map(json.loads, load_prompt("nl2bash_pool.jsonl").splitlines())
    )
    return pool, BM25Index([e.request for e in pool])


@dataclass(frozen=True)
class Suggestion:
    """A command that parses, with what it took to get it."""

    command: str
    attempts: int
    examples: tuple[Exemplar, ...]


class Suggester:
    """Writes one shell command for a request."""

    def __init__(self, backend: Backend, *, examples: int = 6) -> None:
        self.backend = backend
        self.examples = examples
        self._system = ChatMessage("system", load_prompt("suggest_system.txt").strip())

    def warm_up(self) -> None:
        """Evaluate the static system prompt now."""
        self.backend.prepare([self._system])

    def similar(self, request: str, exclude: str | None = None) -> tuple[Exemplar, ...]:
        """The pool's examples most like `request` (optionally leaving one request out)."""
        pool, index = exemplar_pool()
        found = []
        for position, _score in index.top(request, self.examples + 4):
            example = pool[position]
            if exclude is not None and example.request.strip() == exclude.strip():
                continue
            found.append(example)
        # Most similar last: closest to the request, where small models look hardest.
        return tuple(reversed(found[: self.examples]))

    def messages(self, request: str, examples: tuple[Exemplar, ...]) -> list[ChatMessage]:
        """System prompt (static), then the examples and the request (per request)."""
        messages = [self._system]
        for example in examples:
            messages.append(ChatMessage("user", example.request))
            messages.append(ChatMessage("assistant", json.dumps({"command": example.command})))
        messages.append(ChatMessage("user", request))
        return messages

    def suggest(self, request: str, *, exclude_example: str | None = None) -> Suggestion:
        """A command for `request` that parses; raises NoCommandError after a few tries."""
        request = request.strip()
        if not request:
            raise NoCommandError("the request is empty; say what the command should do")
        examples = self.similar(request, exclude=exclude_example)
        messages = self.messages(request, examples)
        problems: list[str] = []
        for attempt in range(MAX_ATTEMPTS):
            generation = self.backend.generate(
                messages,
                schema=COMMAND_SCHEMA,
                max_tokens=200,
                temperature=None if attempt == 0 else 0.7,
                seed=attempt,
            )
            try:
                command = str(json.loads(generation.text)["command"]).strip()
            except (json.JSONDecodeError, KeyError):
                problems.append("the command was cut off")
                continue
            if not command:
                problems.append("the command was empty")
                continue
            if not analyse(command).parsed_ok:
                problems.append(f"{command!r} does not parse")
                continue
            return Suggestion(command=command, attempts=attempt + 1, examples=examples)
        raise NoCommandError(
            f"no command that parses came out in {MAX_ATTEMPTS} tries ({'; '.join(problems)}); "
            "rephrase the request or try a larger model with --model"
        )
