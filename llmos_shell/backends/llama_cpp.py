"""The CPU backend: llama.cpp through llama-cpp-python, output constrained by a GBNF grammar.

The grammar is generated from a JSON Schema, so only JSON of the right shape can come out.
The chat is rendered with the model's own template. llama.cpp keeps the evaluated tokens of
the last prompt; a new prompt that starts with the same tokens (the static system prompt)
evaluates only what follows them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmos_shell.backends.base import ChatMessage, Generation, GenerationStats
from llmos_shell.errors import BackendUnavailableError, ModelNotFoundError

# Used when a GGUF carries no chat template (base models): plain ChatML.
_FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class GenerationCancelled(Exception):
    """The person cancelled a generation (Ctrl-C) before it finished."""


class LlamaCppBackend:
    """A GGUF model run on the CPU by llama.cpp."""

    name = "llama-cpp"

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int = 4096,
        threads: int | None = None,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the llama.cpp backend needs llama-cpp-python ({exc}); "
                "install it with `pip install llama-cpp-python`"
            ) from None
        self.model_path = model_path
        self.temperature = temperature
        self.stats = GenerationStats()
        started = time.perf_counter()
        try:
            with _quiet_stderr():
                self._llm = llama_cpp.Llama(
                    model_path=str(model_path),
                    n_ctx=context_size,
                    n_threads=threads or os.cpu_count() or 1,
                    n_batch=512,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelNotFoundError(
                f"llama.cpp could not load {model_path} ({exc}); check that it is a complete "
                "GGUF file for a model architecture llama.cpp supports"
            ) from None
        self.stats.load_s = time.perf_counter() - started
        self._formatter = self._make_formatter()
        self._lock = threading.Lock()

    # -- prompt rendering ------------------------------------------------------------------

    def _make_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        meta = self._llm.metadata
        template = meta.get("tokenizer.chat_template") or _FALLBACK_TEMPLATE
        eos = self._token_text(self._llm.token_eos())
        bos = self._token_text(self._llm.token_bos())
        self.has_chat_template = "tokenizer.chat_template" in meta
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def render(self, messages: Sequence[ChatMessage], *, generation_prompt: bool = True) -> str:
        """The conversation as the model's own chat template writes it."""
        response = self._formatter(
            messages=[{"role": m.role, "content": m.content} for m in messages],
        )
        prompt: str = response.prompt
        if not generation_prompt:
            return prompt
        return prompt

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, BOS added as the model wants)."""
        add_bos = bool(self._llm.metadata.get("tokenizer.ggml.add_bos_token", "true") != "false")
        bos_text = self._token_text(self._llm.token_bos())
        if bos_text and text.startswith(bos_text):
            add_bos = False
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """How many tokens the rendered conversation takes."""
        return len(self.tokenize(self.render(messages)))

    # -- generation ------------------------------------------------------------------------

    def prepare(self, prefix: Sequence[ChatMessage]) -> None:
        """Evaluate the shared prompt prefix now, so the first request reuses it."""
        text = self.render(prefix)
        tokens = self.tokenize(text)
        with self._lock:
            common = self._llm.longest_token_prefix(self._llm._input_ids.tolist(), tokens)
            if common < len(tokens):
                if common == 0:
                    self._llm.reset()
                else:
                    self._llm.n_tokens = common
                self._llm.eval(tokens[common:])

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema: dict[str, Any] | None,
        max_tokens: int,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        """Complete the conversation; with `schema`, only conforming JSON can be produced."""
        prompt_tokens = self.tokenize(self.render(messages))
        room = self._llm.n_ctx() - len(prompt_tokens)
        if room < 8:
            raise ContextOverflowError(len(prompt_tokens), self._llm.n_ctx())
        max_tokens = min(max_tokens, room)
        grammar = _grammar_for(json.dumps(schema)) if schema is not None else None
        with self._lock:
            cached = self._llm.longest_token_prefix(self._llm._input_ids.tolist(), prompt_tokens)
            # llama.cpp re-evaluates at least the last prompt token to get its logits.
            cached = min(cached, len(prompt_tokens) - 1)
            started = time.perf_counter()
            first_token_at: float | None = None
            pieces: list[str] = []
            completion_tokens = 0
            stream: Iterator[Any] = self._llm.create_completion(
                prompt=prompt_tokens,
                max_tokens=max_tokens,
                temperature=self.temperature,
                top_k=1 if self.temperature == 0 else 40,
                repeat_penalty=1.0,
                grammar=grammar,
                stream=True,
                stop=[] if schema is not None else self._stops(),
            )
            for chunk in stream:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                piece = chunk["choices"][0]["text"]
                completion_tokens += 1
                if piece:
                    pieces.append(piece)
                    if on_text is not None:
                        on_text(piece)
                if cancel is not None and cancel.is_set():
                    stream.close()  # type: ignore[attr-defined]
                    raise GenerationCancelled()
            total = time.perf_counter() - started
        gen = Generation(
            text="".join(pieces),
            prompt_tokens=len(prompt_tokens),
            cached_tokens=cached,
            completion_tokens=completion_tokens,
            prompt_s=(first_token_at or time.perf_counter()) - started,
            total_s=total,
        )
        self.stats.record(gen)
        return gen

    def _stops(self) -> list[str]:
        stops = ["<|im_end|>", "<end_of_turn>", "<|eot_id|>"]
        eos = self._token_text(self._llm.token_eos())
        if eos and eos not in stops:
            stops.append(eos)
        return stops

    def describe(self) -> str:
        """Backend and model file."""
        return f"llama.cpp, {self.model_path.name} (context {self._llm.n_ctx()})"

    def close(self) -> None:
        """Free the model's memory."""
        with contextlib.suppress(Exception):
            self._llm.close()


class ContextOverflowError(Exception):
    """The conversation no longer fits the model's context window."""

    def __init__(self, used: int, size: int) -> None:
        super().__init__(f"the conversation needs {used} tokens but the context holds {size}")
        self.used = used
        self.size = size


@lru_cache(maxsize=64)
def _grammar_for(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    with _quiet_stderr():
        return LlamaGrammar.from_json_schema(schema_json, verbose=False)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence llama.cpp's C-level logging on stderr while loading."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)
