"""The torch backend: a Hugging Face model run by transformers, on CUDA, MPS or the CPU.

It loads a model folder, a hub id already in the local Hugging Face cache, or a GGUF file
(dequantized by transformers' GGUF loader), and never touches the network. Output is
constrained by llguidance: the same JSON Schema the llama.cpp backend gets becomes a grammar
whose token mask is applied to the logits at every step of a plain decode loop. The static
prompt prefix is evaluated once by `prepare`; its key/value cache is copied for each request
that starts with the same tokens, so only the request's own tokens are evaluated.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import json
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from llmos_shell.backends.base import (
    BaseBackend,
    ChatMessage,
    GenerateCall,
    Generation,
    GenerationStats,
)
from llmos_shell.errors import (
    BackendUnavailableError,
    Cancelled,
    ConfigError,
    ContextOverflowError,
    LlmosError,
    ModelNotFoundError,
)
from llmos_shell.models.locate import resolve_source

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions

    from llmos_shell.config import LoadedConfig

# Used when the tokenizer carries no chat template (base models): plain ChatML.
_FALLBACK_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ message.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# End-of-turn tokens of common chat templates, besides the tokenizer's own EOS.
_TURN_ENDS = ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>", "<|endoftext|>")

# Prompt tokens per forward pass: bounds the activation memory of long prompts.
_PROMPT_CHUNK = 512

# The calls in the prompt's examples are written by json.dumps; the same separators and no
# free whitespace keep a small model on the shape it was shown (and off runs of spaces).
_JSON_OPTIONS: JsonCompileOptions = {
    "whitespace_flexible": False,
    "item_separator": ", ",
    "key_separator": ": ",
    "coerce_one_of": True,  # the action schema is a oneOf whose options never overlap
    "lenient": True,  # plugins' schemas may use keywords a grammar cannot enforce
}

_INSTALL_HINT = (
    "install them with `pip install 'llmos-shell[gpu]'` (on a machine without a GPU, install "
    "a CPU build of torch first, so that pip does not fetch the multi-GB CUDA build)"
)


def pick_device(requested: str | None) -> Any:
    """The torch device to run on: the one asked for (checked), else CUDA, then MPS, then CPU."""
    import torch

    if not requested or requested.strip().lower() == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested.strip().lower())
    except (RuntimeError, ValueError):
        raise ConfigError(
            f"unknown device {requested!r}; set `device` to cpu, cuda, cuda:N or mps, or leave "
            "it empty to pick CUDA, then MPS, then the CPU"
        ) from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailableError(
                f"device {requested!r} is not available: this torch ({torch.__version__}) "
                "sees no CUDA GPU; set `device` to cpu or leave it empty"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise BackendUnavailableError(
                f"device {requested!r} is not available: there are {count} CUDA GPUs "
                f"(cuda:0 to cuda:{count - 1}); pick one of them or leave `device` empty"
            )
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise BackendUnavailableError(
                f"device {requested!r} is not available: MPS needs an Apple silicon Mac and a "
                "torch built for it; set `device` to cpu or leave it empty"
            )
        return device
    raise ConfigError(
        f"device {requested!r} is not supported by the transformers backend; use cpu, cuda, "
        "cuda:N or mps, or leave `device` empty"
    )


def dtype_for(device: Any) -> Any:
    """The weights' dtype for a device: bf16 on CUDA when it can, fp16 on GPUs, fp32 on CPU."""
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def from_config(config: LoadedConfig) -> TransformersBackend:
    """The backend as the settings describe it (the BACKENDS table's factory)."""
    settings = config.settings
    return TransformersBackend(
        settings.model,
        device=settings.device,
        threads=settings.threads,
        temperature=settings.temperature,
        context_size=settings.context_size,
    )


class TransformersBackend(BaseBackend):
    """A model run by transformers on torch, with grammar-constrained decoding."""

    name = "transformers"
    tool_format = None  # llguidance constrains the planner's own JSON format here

    def __init__(
        self,
        model: str | None,
        *,
        device: str | None = None,
        threads: int | None = None,
        temperature: float = 0.0,
        context_size: int = 4096,
        seed: int = 0,
    ) -> None:
        try:
            import llguidance
            import torch
            import transformers
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the transformers backend needs torch, transformers and llguidance ({exc}); "
                f"{_INSTALL_HINT}"
            ) from None
        self.temperature = temperature
        self.stats = GenerationStats()
        self._lock = threading.Lock()
        self.source = resolve_source(model)
        if self.source.gguf_file is not None:
            try:
                import gguf  # noqa: F401  (transformers' GGUF loader imports it itself)
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"loading the GGUF model {self.source.label} needs the gguf package "
                    f"({exc}); {_INSTALL_HINT}"
                ) from None
        self.device = pick_device(device)
        self.dtype = dtype_for(self.device)
        if threads:
            torch.set_num_threads(threads)
        started = time.perf_counter()
        self.tokenizer, self._model = self._load(transformers)
        self.stats.load_s = time.perf_counter() - started
        self.stats.extra["device"] = str(self.device)
        self.stats.extra["dtype"] = str(self.dtype).removeprefix("torch.")
        # transformers 5 renamed `past_key_values` to `cache`; older releases know only the first.
        params = inspect.signature(self._model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep_arg = next(
            (k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None
        )
        self.n_vocab = int(self._model.get_output_embeddings().weight.shape[0])
        limit = getattr(self._model.config, "max_position_embeddings", None) or context_size
        self.context_size = min(context_size, int(limit))
        self.has_chat_template = bool(self.tokenizer.chat_template)
        self._template = self.tokenizer.chat_template or _FALLBACK_TEMPLATE
        self._stop_ids = self._end_tokens()
        self._llg_tokenizer = self._grammar_tokenizer(llguidance)
        self._generator = torch.Generator().manual_seed(seed)
        self._prefix_tokens: list[int] = []
        self._prefix_cache: Any = None

    # -- loading ---------------------------------------------------------------------------

    def _load(self, transformers: Any) -> tuple[Any, Any]:
        import torch

        folder = str(self.source.folder)
        extra: dict[str, Any] = {"local_files_only": True}
        if self.source.gguf_file is not None:
            extra["gguf_file"] = self.source.gguf_file
        try:
            with _quiet_transformers(transformers):
                tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **extra)
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    folder, dtype=self.dtype, **extra
                )
                model.to(self.device)
        except ImportError as exc:
            raise BackendUnavailableError(
                f"loading {self.source.label} needs a package that is missing ({_first_line(exc)}); "
                f"{_INSTALL_HINT}"
            ) from None
        except torch.cuda.OutOfMemoryError:
            raise BackendUnavailableError(
                f"{self.source.label} does not fit in the memory of {self.device}; pick a "
                "smaller model, or set `device` to cpu"
            ) from None
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise ModelNotFoundError(
                f"transformers could not load {self.source.label} ({_first_line(exc)}); check "
                "that it is a complete causal language model (a folder with config.json and "
                "weights, or a GGUF file of an architecture transformers supports)"
            ) from None
        model.eval()
        return tokenizer, model

    def _end_tokens(self) -> set[int]:
        """Token ids that end a reply: the EOS tokens and the template's end-of-turn tokens."""
        ids: set[int] = set()
        for source in (self.tokenizer.eos_token_id, self._model.generation_config.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif isinstance(source, list):
                ids.update(int(i) for i in source)
        for text in _TURN_ENDS:
            token = self.tokenizer.convert_tokens_to_ids(text)
            # Unknown tokens map to the unk id; keep only real single-token markers.
            if isinstance(token, int) and self.tokenizer.convert_ids_to_tokens(token) == text:
                ids.add(token)
        return ids

    def _grammar_tokenizer(self, llguidance: Any) -> Any:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise BackendUnavailableError(
                f"the tokenizer of {self.source.label} has no fast (tokenizers) version, which "
                "constrained decoding needs; use a model that ships tokenizer.json"
            )
        backend = copy.copy(backend)
        backend.no_padding()
        backend.no_truncation()
        vocab = max(self.n_vocab, len(self.tokenizer))
        return llguidance.LLTokenizer(
            backend.to_str(), n_vocab=vocab, eos_token=sorted(self._stop_ids) or None
        )

    # -- prompt rendering ------------------------------------------------------------------

    def render(self, messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True) -> str:
        """The conversation as the model's own chat template writes it, ready for a reply."""
        from jinja2 import TemplateError

        turns = [{"role": m.role, "content": m.content} for m in messages]
        try:
            return self._apply_template(turns, add_generation_prompt)
        except TemplateError as exc:
            # Some templates (Gemma's) refuse a system turn; it then opens the first user turn.
            if len(turns) < 2 or turns[0]["role"] != "system" or turns[1]["role"] != "user":
                raise LlmosError(
                    f"the chat template of {self.source.label} refused the conversation "
                    f"({_first_line(exc)}); use a model whose template takes system and "
                    "assistant turns"
                ) from None
            merged = f"{turns[0]['content']}\n\n{turns[1]['content']}"
            return self.render(
                [ChatMessage("user", merged), *messages[2:]],
                add_generation_prompt=add_generation_prompt,
            )

    def _apply_template(self, turns: list[dict[str, str]], add_generation_prompt: bool) -> str:
        text = self.tokenizer.apply_chat_template(
            turns,
            chat_template=self._template,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
        )
        return str(text)

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, BOS added as the model wants)."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        bos = self.tokenizer.bos_token_id
        if getattr(self.tokenizer, "add_bos_token", False) and bos is not None:
            if not ids or ids[0] != bos:
                ids.insert(0, bos)
        return ids

    def count_tokens(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """How many tokens the rendered conversation takes (tools go through the schema)."""
        return len(self.tokenize(self.render(messages)))

    def context_window(self) -> int:
        """The context size in use: the setting, up to what the model was trained on."""
        return self.context_size

    # -- evaluation ------------------------------------------------------------------------

    def _forward(
        self, tokens: list[int], cache: Any, cancel: threading.Event | None
    ) -> tuple[Any, Any]:
        """Run `tokens` through the model after `cache`: the last one's logits, and the cache."""
        import torch

        logits = None
        for start in range(0, len(tokens), _PROMPT_CHUNK):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            chunk = torch.tensor([tokens[start : start + _PROMPT_CHUNK]], device=self.device)
            kwargs: dict[str, Any] = {self._cache_arg: cache, "use_cache": True}
            if self._keep_arg is not None:
                kwargs[self._keep_arg] = 1  # only the last position's logits are read
            out = self._model(input_ids=chunk, **kwargs)
            cache = out.get(self._cache_arg)
            logits = out.logits[0, -1]
        return logits, cache

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Evaluate the shared prompt prefix now and keep its key/value cache (replacing any)."""
        import torch

        tokens = self.tokenize(self.render(prefix, add_generation_prompt=False)) if prefix else []
        with self._lock:
            if tokens == self._prefix_tokens:
                return
            if not tokens:  # an empty prefix drops the kept one
                self._prefix_tokens, self._prefix_cache = [], None
                return
            started = time.perf_counter()
            with torch.inference_mode():
                _, cache = self._forward(tokens, None, None)
            self.stats.extra["prefix_eval_s"] = time.perf_counter() - started
            self._prefix_tokens = tokens
            self._prefix_cache = cache

    def _cache_for(self, tokens: list[int]) -> tuple[Any, int]:
        """A private copy of the prefix cache covering the start of `tokens`, and its length."""
        common = 0
        for saved, new in zip(self._prefix_tokens, tokens, strict=False):
            if saved != new:
                break
            common += 1
        # The last prompt token is always evaluated: its logits pick the first reply token.
        common = min(common, len(tokens) - 1)
        if common <= 0 or self._prefix_cache is None:
            return None, 0
        cache = copy.deepcopy(self._prefix_cache)
        if common < len(self._prefix_tokens):
            try:
                cache.crop(common)
            except (AttributeError, ValueError, NotImplementedError):
                return None, 0  # a cache kind that cannot be cut (sliding windows): start over
        return cache, common

    def _generate(self, call: GenerateCall) -> Generation:
        """Complete the conversation; with `schema`, only conforming JSON can be produced."""
        messages, schema, max_tokens = call.messages, call.schema, call.max_tokens
        on_text, cancel, seed = call.on_text, call.cancel, call.seed
        import torch

        prompt_tokens = self.tokenize(self.render(messages))
        room = self.context_size - len(prompt_tokens)
        if room < 8:
            raise ContextOverflowError(len(prompt_tokens), self.context_size)
        max_tokens = min(max_tokens, room)
        matcher = self._matcher(schema) if schema is not None else None
        temp = call.temperature
        generator = self._generator if seed is None else torch.Generator().manual_seed(seed)
        decoder = IncrementalDecoder(self.tokenizer)
        pieces: list[str] = []
        completion_tokens = 0
        with self._lock, torch.inference_mode():
            started = time.perf_counter()
            cache, cached = self._cache_for(prompt_tokens)
            logits, cache = self._forward(prompt_tokens[cached:], cache, cancel)
            prompt_s = time.perf_counter() - started
            stopped = False
            for _ in range(max_tokens):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                token = self._pick(logits, matcher, temp, generator)
                if token is None or token in self._stop_ids:
                    break
                completion_tokens += 1
                if matcher is not None and not matcher.consume_token(token):
                    break  # cannot happen with a masked pick; never emit what breaks the grammar
                piece = decoder.push(token)
                if piece:
                    pieces.append(piece)
                    if on_text is not None and on_text(piece):
                        stopped = True
                        break
                if matcher is not None and matcher.is_stopped():
                    break  # the JSON is complete; only EOS could follow
                logits, cache = self._forward([token], cache, cancel)
            if not stopped:
                tail = decoder.flush()
                if tail:
                    pieces.append(tail)
                    if on_text is not None:
                        on_text(tail)
            total = time.perf_counter() - started
        gen = Generation(
            text="".join(pieces),
            prompt_tokens=len(prompt_tokens),
            cached_tokens=cached,
            completion_tokens=completion_tokens,
            prompt_s=prompt_s,
            total_s=total,
        )
        return gen

    def _matcher(self, schema: dict[str, Any]) -> Any:
        import llguidance

        # Key order is kept: the grammar writes properties in the order the schema lists them.
        matcher = llguidance.LLMatcher(
            self._llg_tokenizer, _grammar_for(json.dumps(schema)), log_level=0
        )
        if matcher.is_error():
            raise LlmosError(
                f"the tool schema cannot be turned into a grammar ({matcher.get_error()}); "
                "check the arguments of the tools offered"
            )
        return matcher

    def _pick(self, logits: Any, matcher: Any, temp: float, generator: Any) -> int | None:
        """The next token: the most likely one allowed (greedy) or a sample at `temp`."""
        import numpy as np
        import torch

        scores = logits.float().cpu()
        if matcher is not None:
            bits = np.unpackbits(
                np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little"
            )
            # The grammar's vocabulary is at least the logits' size (see _grammar_tokenizer).
            allowed = torch.from_numpy(bits[: scores.shape[0]].astype(np.bool_))
            if not bool(allowed.any()):
                return None
            scores = scores.masked_fill(~allowed, float("-inf"))
        if temp <= 0:
            return int(torch.argmax(scores))
        top = torch.topk(scores, k=min(40, scores.shape[0]))
        probs = torch.softmax(top.values / temp, dim=-1)
        choice = torch.multinomial(probs, 1, generator=generator)
        return int(top.indices[choice])

    def describe(self) -> str:
        """Backend, model, device and dtype."""
        dtype = str(self.dtype).removeprefix("torch.")
        return (
            f"transformers, {self.source.label} on {self.device} ({dtype}, "
            f"context {self.context_size})"
        )

    def close(self) -> None:
        """Free the model's memory."""
        import torch

        self._prefix_cache = None
        self._prefix_tokens = []
        self._model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


class IncrementalDecoder:
    """Turns tokens into text pieces without splitting a multi-byte character."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._ids: list[int] = []
        # Text is decoded from `_prefix` on, so a tokenizer that drops a leading space at the
        # start of a sequence still sees the context; `_read` marks what was emitted.
        self._prefix = 0
        self._read = 0

    def push(self, token: int) -> str:
        """Add one token; the new text it completes ('' while a character is unfinished)."""
        self._ids.append(token)
        return self._advance(final=False)

    def flush(self) -> str:
        """Whatever is left, even an unfinished character."""
        return self._advance(final=True)

    def _advance(self, *, final: bool) -> str:
        if self._read >= len(self._ids):
            return ""
        seen = self._decode(self._ids[self._prefix : self._read])
        text = self._decode(self._ids[self._prefix :])
        if len(text) <= len(seen) or (text.endswith("\ufffd") and not final):
            return ""
        self._prefix, self._read = self._read, len(self._ids)
        return text[len(seen) :]

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))


@lru_cache(maxsize=64)
def _grammar_for(schema_json: str) -> str:
    import llguidance

    try:
        grammar: str = llguidance.LLMatcher.grammar_from_json_schema(
            schema_json, overrides=_JSON_OPTIONS
        )
    except ValueError as exc:
        raise LlmosError(
            f"the tool schema is not valid JSON Schema ({_first_line(exc)}); check the "
            "arguments of the tools offered"
        ) from None
    return grammar


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@contextlib.contextmanager
def _quiet_transformers(transformers: Any) -> Iterator[None]:
    """Hide transformers' progress bars and advice while loading; errors still raise."""
    # The GGUF loader draws its own tqdm bar, which no transformers setting turns off.
    logging = transformers.utils.logging
    verbosity = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
