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
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.backends.base import (
    BaseBackend,
    ChatMessage,
    GenerateCall,
    Generation,
    GenerationStats,
)
from llmos_shell.backends.gbnf import schema_to_gbnf
from llmos_shell.backends.llama_params import guarded_defaults
from llmos_shell.backends.tool_format import ToolFormat, openai_tools
from llmos_shell.backends.tool_format import detect as detect_tool_format
from llmos_shell.errors import (
    BackendUnavailableError,
    Cancelled,
    ContextOverflowError,
    GrammarError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig

# Used when a GGUF carries no chat template (base models): plain ChatML.
_FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def from_config(config: LoadedConfig) -> LlamaCppBackend:
    """The backend as the settings describe it (the BACKENDS table's factory)."""
    from llmos_shell.models.gguf import fitted_context
    from llmos_shell.models.locate import resolve_model

    settings = config.settings
    path = resolve_model(settings.model)
    context_size = settings.context_size
    if config.sources.get("context_size", "default") == "default":
        context_size = fitted_context(path, context_size)
    return LlamaCppBackend(
        path,
        context_size=context_size,
        threads=settings.threads,
        temperature=settings.temperature,
        cache_dir=config.paths.cache_dir,
    )


class LlamaCppBackend(BaseBackend):
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
        cache_dir: Path | None = None,
    ) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the llama.cpp backend needs llama-cpp-python ({exc}); "
                "install it with `pip install llama-cpp-python`"
            ) from None
        self.model_path = model_path
        self.cache_dir = cache_dir
        self.temperature = temperature
        self.stats = GenerationStats()
        started = time.perf_counter()
        if not threads:
            from llmos_shell.backends.threads import default_threads

            threads = default_threads()
        self.threads = threads
        try:
            with _quiet_stderr(), guarded_defaults():
                self._llm = llama_cpp.Llama(
                    model_path=str(model_path),
                    n_ctx=context_size,
                    n_threads=threads,
                    # Prompt evaluation has its own thread count; without it, `threads`
                    # would not limit the part of the work that takes longest.
                    n_threads_batch=threads,
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
        from llmos_shell.backends.greedy_grammar import install

        install(self._llm)  # the same tokens, without a grammar pass over the vocabulary each
        self._formatter = self._make_formatter()
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        # llama.cpp asks this between the steps of every batch it evaluates, so Ctrl-C stops
        # a long prompt's evaluation too, not only the generation between two tokens.
        self._cancel: threading.Event | None = None
        self._interrupted = False
        self._abort_callback = llama_cpp.ggml_abort_callback(self._should_abort)
        llama_cpp.llama_set_abort_callback(self._llm._ctx.ctx, self._abort_callback, None)

    def _should_abort(self, _data: Any) -> bool:
        """llama.cpp's question, asked in the thread that evaluates: stop now?"""
        try:
            cancel = self._cancel
            stop = self._interrupted or (cancel is not None and cancel.is_set())
        except BaseException:  # Ctrl-C's KeyboardInterrupt is raised here, inside llama.cpp
            self._interrupted = stop = True
        if stop:
            import logging

            logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        return stop

    @contextlib.contextmanager
    def _abortable(self, cancel: threading.Event | None) -> Iterator[None]:
        """Evaluation that `cancel` (or Ctrl-C) aborts between the steps of a batch; the
        tokens evaluated before it stay valid, the half-evaluated batch is dropped."""
        import logging

        # llama.cpp reports an aborted batch as an error on stderr; a cancel is no error.
        log = logging.getLogger("llama-cpp-python")
        level = log.level
        self._cancel, self._interrupted = cancel, False
        try:
            yield
        except RuntimeError:  # llama_decode returned "aborted"
            stopped = self._interrupted or (cancel is not None and cancel.is_set())
            if not stopped:
                raise
            log.setLevel(level)
            self._llm._ctx.kv_cache_seq_rm(-1, self._llm.n_tokens, -1)
            if self._interrupted:
                raise KeyboardInterrupt from None
            raise Cancelled() from None
        finally:
            self._cancel = None
            log.setLevel(level)
        if self._interrupted:  # asked after the last step: the work is done, Ctrl-C stands
            raise KeyboardInterrupt

    # -- prompt rendering ------------------------------------------------------------------

    def _make_formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        meta = self._llm.metadata
        template = meta.get("tokenizer.chat_template") or _FALLBACK_TEMPLATE
        eos = self._token_text(self._llm.token_eos())
        bos = self._token_text(self._llm.token_bos())
        self.has_chat_template = "tokenizer.chat_template" in meta
        self.tool_format = detect_tool_format(meta.get("tokenizer.chat_template"))
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def render(
        self, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]] | None = None
    ) -> str:
        """The conversation as the model's own chat template writes it, ready for a reply;
        with `tools`, in the template's own tool format (when it has one)."""
        native = tools is not None and self.tool_format is not None
        response = self._formatter(
            messages=[_template_message(m, native) for m in messages],
            tools=openai_tools(list(tools)) if native and tools is not None else None,
        )
        prompt: str = response.prompt
        return prompt

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, BOS added as the model wants)."""
        add_bos = bool(self._llm.metadata.get("tokenizer.ggml.add_bos_token", "true") != "false")
        bos_text = self._token_text(self._llm.token_bos())
        if bos_text and text.startswith(bos_text):
            add_bos = False
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True))

    def count_tokens(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """How many tokens the rendered conversation takes."""
        return len(self.tokenize(self.render(messages, tools)))

    def context_window(self) -> int:
        """The context the model was loaded with."""
        return int(self._llm.n_ctx())

    def _native(self, tools: Sequence[dict[str, Any]] | None) -> ToolFormat | None:
        return self.tool_format if tools is not None else None

    # -- generation ------------------------------------------------------------------------

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Evaluate the shared prompt prefix now (or load it from the disk cache)."""
        tokens = self.tokenize(self.render(prefix, tools))
        with self._lock:
            common = self._llm.longest_token_prefix(self._llm._input_ids.tolist(), tokens)
            if common >= len(tokens):
                return
            cache_file = self._cache_file(tokens)
            if cache_file is not None and self._load_prefix(cache_file, tokens):
                return
            if common == 0:
                self._llm.reset()  # type: ignore[no-untyped-call]  # llama_cpp leaves reset unannotated
            else:
                self._llm._ctx.kv_cache_seq_rm(-1, common, -1)
                self._llm.n_tokens = common
            started = time.perf_counter()
            with self._abortable(None):
                self._llm.eval(tokens[common:])
            self.stats.extra["prefix_eval_s"] = time.perf_counter() - started
            if cache_file is not None:
                self._save_prefix(cache_file, tokens)

    # -- the prefix cache on disk: one-shot runs start warm --------------------------------

    def _cache_file(self, tokens: list[int]) -> Path | None:
        if self.cache_dir is None:
            return None
        import hashlib

        import llama_cpp

        stat = self.model_path.stat()
        digest = hashlib.sha256()
        for part in (
            str(self.model_path.resolve()),
            str(stat.st_size),
            str(stat.st_mtime_ns),
            str(self._llm.n_ctx()),
            llama_cpp.__version__,
        ):
            digest.update(part.encode() + b"\0")
        digest.update(array("i", tokens).tobytes())
        return self.cache_dir / f"prefix-{digest.hexdigest()[:32]}.kv"

    def _save_prefix(self, path: Path, tokens: list[int]) -> None:
        import ctypes

        import llama_cpp

        ctx = self._llm._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * int(size))()
        written = int(llama_cpp.llama_state_get_data(ctx, buffer, size))
        header = json.dumps({"n_tokens": len(tokens), "state_bytes": written}).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("wb") as handle:
                handle.write(_CACHE_MAGIC + len(header).to_bytes(4, "little") + header)
                handle.write(array("i", tokens).tobytes())
                handle.write(memoryview(buffer)[:written])
            os.replace(tmp, path)
            _prune(path.parent, keep=_CACHE_KEEP)
        except OSError:
            pass  # the cache only saves time; a full or read-only disk costs nothing else

    def _load_prefix(self, path: Path, tokens: list[int]) -> bool:
        import ctypes

        import llama_cpp

        try:
            data = path.read_bytes()
        except OSError:
            return False
        try:
            if not data.startswith(_CACHE_MAGIC):
                raise ValueError("not a prefix cache file")
            offset = len(_CACHE_MAGIC)
            header_len = int.from_bytes(data[offset : offset + 4], "little")
            header = json.loads(data[offset + 4 : offset + 4 + header_len])
            offset += 4 + header_len
            n_tokens = int(header["n_tokens"])
            ids = array("i")
            ids.frombytes(data[offset : offset + 4 * n_tokens])
            offset += 4 * n_tokens
            blob = data[offset:]
            if list(ids) != tokens or len(blob) != int(header["state_bytes"]):
                raise ValueError("prefix cache file does not match")
            buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
            if llama_cpp.llama_state_set_data(self._llm._ctx.ctx, buffer, len(blob)) != len(blob):
                raise ValueError("llama.cpp refused the saved state")
        except (ValueError, KeyError, json.JSONDecodeError):
            self._llm.reset()  # type: ignore[no-untyped-call]  # llama_cpp leaves reset unannotated
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        self._llm.input_ids[:n_tokens] = tokens
        self._llm.n_tokens = n_tokens
        self._llm._requires_eval = True  # logits were not saved; the next decode refreshes them
        self.stats.extra["prefix_from_cache"] = True
        return True

    def _generate(self, call: GenerateCall) -> Generation:
        """Complete the conversation; with `schema`, only conforming JSON can be produced."""
        messages, schema, max_tokens, tools = (
            call.messages,
            call.schema,
            call.max_tokens,
            call.tools,
        )
        on_text, cancel, seed = call.on_text, call.cancel, call.seed
        native = self._native(tools)
        if native is not None and schema is not None:
            on_text = native.translator(on_text)
        prompt_tokens = self.tokenize(self.render(messages, tools))
        room = self._llm.n_ctx() - len(prompt_tokens)
        if room < 8:
            raise ContextOverflowError(len(prompt_tokens), self._llm.n_ctx())
        max_tokens = min(max_tokens, room)
        grammar = self._grammar(schema, native) if schema is not None else None
        temp = call.temperature
        with self._lock:
            cached = self._llm.longest_token_prefix(self._llm._input_ids.tolist(), prompt_tokens)
            # llama.cpp re-evaluates at least the last prompt token to get its logits.
            cached = min(cached, len(prompt_tokens) - 1)
            started = time.perf_counter()
            first_token_at: float | None = None
            pieces: list[str] = []
            completion_tokens = 0
            with self._abortable(cancel):
                stream: Iterator[Any] = self._llm.create_completion(  # type: ignore[assignment]
                    prompt=prompt_tokens,
                    max_tokens=max_tokens,
                    temperature=temp,
                    top_k=1 if temp == 0 else 40,
                    seed=seed,
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
                    if cancel is not None and cancel.is_set():
                        stream.close()  # type: ignore[attr-defined]
                        raise Cancelled()
                    if piece:
                        pieces.append(piece)
                        if on_text is not None and on_text(piece):
                            stream.close()  # type: ignore[attr-defined]
                            break
            total = time.perf_counter() - started
        text = "".join(pieces)
        if native is not None and schema is not None:
            text = native.to_action(text)
        gen = Generation(
            text=text,
            prompt_tokens=len(prompt_tokens),
            cached_tokens=cached,
            completion_tokens=completion_tokens,
            prompt_s=(first_token_at or time.perf_counter()) - started,
            total_s=total,
        )
        return gen

    def _grammar(self, schema: dict[str, Any], native: ToolFormat | None = None) -> Any:
        """The grammar for `schema` (in the model's own tool format with `native`), checked
        by llama.cpp's own parser before any use.

        llama.cpp returns no sampler for a grammar it rejects, and sampling with that
        crashes the process; a rejected grammar is a GrammarError instead.
        """
        key = json.dumps([schema, native.name if native else None], sort_keys=True)
        cached = self._grammars.get(key)
        if cached is not None:
            return cached
        import llama_cpp
        from llama_cpp.llama_grammar import LlamaGrammar

        text = (native.grammar(schema) if native is not None else schema_to_gbnf(schema)).text
        with _quiet_stderr():
            sampler = llama_cpp.llama_sampler_init_grammar(
                self._llm._model.vocab, text.encode("utf-8"), b"root"
            )
        if not sampler:
            raise GrammarError(
                "llama.cpp rejected the grammar made from the tool schema; simplify the "
                "schema (fewer nested options, shorter enum values) and try again"
            )
        llama_cpp.llama_sampler_free(sampler)
        grammar = LlamaGrammar.from_string(text, verbose=False)
        if len(self._grammars) >= _GRAMMAR_CACHE:
            self._grammars.pop(next(iter(self._grammars)))
        self._grammars[key] = grammar
        return grammar

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


def _template_message(message: ChatMessage, native: bool) -> dict[str, Any]:
    """A message as chat templates take it; calls and results in the template's own form."""
    if native and message.tool_calls:
        calls = [
            {"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in message.tool_calls
        ]
        return {"role": "assistant", "content": message.content or None, "tool_calls": calls}
    if message.role == "tool" and not native:
        return {"role": "user", "content": message.content}
    return {"role": message.role, "content": message.content}


_CACHE_MAGIC = b"LLMOSKV1"
_GRAMMAR_CACHE = 64  # grammars kept per backend, one per distinct schema
_CACHE_KEEP = 4


def _prune(folder: Path, keep: int) -> None:
    """Keep only the `keep` most recently used prefix cache files."""
    files = sorted(folder.glob("prefix-*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


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
