"""The interface every backend implements, the class they share, and the messages it takes and returns."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from llmos_shell.errors import Cancelled

if TYPE_CHECKING:
    from llmos_shell.backends.tool_format import ToolFormat

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn of the conversation given to the model.

    An assistant turn may hold calls (`tool_calls`: {"name", "arguments"} each) for models
    that have their own tool format; a "tool" turn holds a call's result for them.
    """

    role: Role
    content: str
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Generation:
    """What one call to the model produced, with its cost."""

    text: str
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    prompt_s: float
    total_s: float


@dataclass
class GenerationStats:
    """Running totals for one backend, for `/stats`."""

    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    prompt_s: float = 0.0
    total_s: float = 0.0
    load_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, gen: Generation) -> None:
        """Add one generation to the totals."""
        self.requests += 1
        self.prompt_tokens += gen.prompt_tokens
        self.cached_tokens += gen.cached_tokens
        self.completion_tokens += gen.completion_tokens
        self.prompt_s += gen.prompt_s
        self.total_s += gen.total_s

    @property
    def generation_tokens_per_s(self) -> float:
        """Completion tokens per second of generation time."""
        gen_s = self.total_s - self.prompt_s
        return self.completion_tokens / gen_s if gen_s > 0 else 0.0

    @property
    def prompt_tokens_per_s(self) -> float:
        """Prompt tokens evaluated (not cached) per second of prompt time."""
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated / self.prompt_s if self.prompt_s > 0 else 0.0


class Backend(Protocol):
    """A local or remote model that completes a chat, optionally constrained by a JSON Schema."""

    name: str
    stats: GenerationStats

    tool_format: ToolFormat | None  # the model's own tool-call format, if it has one

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Evaluate the conversation prefix every request starts with, so it is reused.

        `tools` (OpenAI-style definitions) are rendered by the model's own chat template
        when it has a tool format, as in `generate`.
        """

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        on_text: Callable[[str], bool | None] | None = None,
        cancel: threading.Event | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Generation:
        """Complete the conversation; with `schema`, the output is JSON that conforms to it.

        With `tools` and a model that has its own tool format, the tools are rendered by its
        chat template and it writes calls its own way; the text returned is still the action
        JSON of `schema`.

        `on_text` gets each new piece of text and may return True to end the generation
        there (the text so far is returned); `cancel` set aborts it with `Cancelled`.
        `temperature` and `seed` override the backend's own for this call (retries).
        """
        ...

    def count_tokens(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> int | None:
        """How many tokens the rendered conversation takes (with `tools` as `generate` renders
        them); an estimate where only a server knows, None where nothing can be said."""
        ...

    def context_window(self) -> int | None:
        """How many tokens the model's context holds, prompt and reply; None when unknown."""
        ...

    def describe(self) -> str:
        """One line naming the backend and model."""
        ...

    def close(self) -> None:
        """Free the model (memory, connections); the backend is not used afterwards."""
        ...


@dataclass(frozen=True)
class GenerateCall:
    """One `generate` request as a backend's own `_generate` gets it (the temperature settled)."""

    messages: Sequence[ChatMessage]
    schema: dict[str, Any] | None
    max_tokens: int
    on_text: Callable[[str], bool | None] | None
    cancel: threading.Event | None
    temperature: float
    seed: int | None
    tools: Sequence[dict[str, Any]] | None


class BaseBackend:
    """The `generate` contract written once: its signature, its start and its end.

    A backend implements `_generate(call)`; `generate` settles the temperature, stops at
    once when the request was cancelled before it began, and adds the result to `stats`.
    """

    name: str
    stats: GenerationStats
    temperature: float = 0.0

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        on_text: Callable[[str], bool | None] | None = None,
        cancel: threading.Event | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Generation:
        """Complete the conversation, as `Backend.generate` says."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        call = GenerateCall(
            messages=messages,
            schema=schema,
            max_tokens=max_tokens,
            on_text=on_text,
            cancel=cancel,
            temperature=self.temperature if temperature is None else temperature,
            seed=seed,
            tools=tools,
        )
        gen = self._generate(call)
        self.stats.record(gen)
        return gen

    def _generate(self, call: GenerateCall) -> Generation:
        """The backend's own generation of one request (its stats are recorded by `generate`)."""
        raise NotImplementedError
