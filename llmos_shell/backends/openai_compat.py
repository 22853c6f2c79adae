"""A model behind an OpenAI-compatible server: vLLM, llama.cpp's server, Ollama, LM Studio.

HTTP, TLS, proxies, server-sent events, retries with backoff and typed errors come from the
official `openai` SDK, imported when the backend is built. What stays ours is where servers
differ while all claiming the OpenAI API:

- Output is constrained with a JSON Schema `response_format`, which servers spell
  differently: the known spellings are tried in order and the first that works is kept.
- Every constrained reply is checked against the schema (conformance.py), because a server
  may accept `response_format` and ignore it; unconstrained text never passes for a plan.
- A reply may come as content or as tool calls (vLLM streams those in `delta.tool_calls`
  pieces); both are read into the same JSON text the planner reads.
- A failure is one sentence that names the server and the fix, and an overflowing context
  is the planner's ContextOverflowError.
- Cancelling returns at once, even while the server is still evaluating the prompt.
"""

from __future__ import annotations

import math
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmos_shell.backends.base import (
    BaseBackend,
    ChatMessage,
    GenerateCall,
    Generation,
    GenerationStats,
)
from llmos_shell.backends.conformance import check_reply
from llmos_shell.backends.openai_stream import Reply, stream_reply
from llmos_shell.errors import BackendUnavailableError, ContextOverflowError, LlmosError, causes

if TYPE_CHECKING:
    import openai

    from llmos_shell.config import LoadedConfig

_CHECK_URL = "check base_url with `llmos config`"
_KEY_FIX = (
    "set the key in the environment variable named by the api_key_env setting "
    "(`llmos config` shows both)"
)
_SERVER_FIX = (
    "use a server that supports JSON Schema response_format, such as llama.cpp's server or vLLM"
)
# The SDK insists on a key; local servers want none. vLLM's documentation uses this one, and
# servers that check keys refuse it, which is then reported as a missing key.
_NO_KEY = "EMPTY"
# Statuses with which servers reject a request body they do not understand (llama-cpp-python
# answers an unknown response_format type with a 500 that wraps its validation error).
_REJECTED_BODY = {400, 415, 422, 500, 501}
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar")


# What a server's own schema converter may expand into one grammar rule per step: length
# bounds of thousands crash llama-cpp-python's server (its parser rejects the grammar it
# makes, and sampling with none kills the process). The token limit bounds a call instead.
_SERVER_MAX_LENGTH = 256
_SERVER_MAX_ITEMS = 64


def _for_server(node: Any) -> Any:
    """The schema as sent to a server: long length bounds dropped, item counts capped."""
    if isinstance(node, list):
        return [_for_server(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if (
            key in ("maxLength", "minLength")
            and isinstance(value, int)
            and value > _SERVER_MAX_LENGTH
        ):
            continue
        if key == "maxItems" and isinstance(value, int) and value > _SERVER_MAX_ITEMS:
            value = _SERVER_MAX_ITEMS
        out[key] = _for_server(value)
    return out


def _json_schema_form(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's spelling: vLLM, llama.cpp's server, Ollama, LM Studio."""
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "action", "schema": _for_server(schema), "strict": True},
        }
    }


def _json_object_form(schema: dict[str, Any]) -> dict[str, Any]:
    """The older spelling with the schema beside the type: llama-cpp-python's server."""
    return {"response_format": {"type": "json_object", "schema": _for_server(schema)}}


_FORMS: tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    ("json_schema", _json_schema_form),
    ("json_object+schema", _json_object_form),
)


def from_config(config: LoadedConfig) -> OpenAICompatBackend:
    """The backend as the settings describe it (the BACKENDS table's factory)."""
    settings = config.settings
    return OpenAICompatBackend(
        settings.base_url,
        model=settings.model,
        api_key=os.environ.get(settings.api_key_env) or None,
        temperature=settings.temperature,
        timeout_s=max(settings.tool_timeout_s, 120.0),
    )


class OpenAICompatBackend(BaseBackend):
    """A model served over the OpenAI chat completions API."""

    name = "openai"
    tool_format = None  # the action JSON is asked for through the schema; the server's own
    # tool calling is not used, so every reply can be checked against the schema

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None,
        api_key: str | None,
        temperature: float = 0.0,
        timeout_s: float = 120.0,
    ) -> None:
        self.base_url = base_url.strip().rstrip("/")
        parts = urlsplit(self.base_url)
        try:
            parts.port  # noqa: B018 - raises for a port that is not a number
        except ValueError:
            raise BackendUnavailableError(
                f"base_url {base_url!r} has an invalid port; {_CHECK_URL}"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendUnavailableError(
                f"base_url {base_url!r} is not an http:// or https:// URL; set it to the "
                "server's address, such as http://127.0.0.1:8080/v1 (`llmos config` shows "
                "where it is set)"
            )
        from llmos_shell.errors import import_extra

        openai = import_extra("openai", "openai", f"the openai backend ({base_url})")
        self._openai = openai
        self.api_key = api_key
        self.temperature = temperature
        self.timeout_s = timeout_s
        # The SDK's retries (two, with backoff and Retry-After) ride over a server that is
        # still loading its model (503) or rate-limiting (429).
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or _NO_KEY,
            timeout=timeout_s,
            default_headers={"User-Agent": "llmos"},
        )
        # Probing a spelling is not retried: a server that does not know it (a 500 from
        # llama-cpp-python) would only refuse it again.
        self._probe_client = self._client.with_options(max_retries=0)
        self.stats = GenerationStats()
        self._form: int | None = None  # index into _FORMS once a spelling has worked
        self._form_lock = threading.Lock()
        self._windows: dict[str, int] = {}  # context sizes /models states (vLLM's max_model_len)
        # Until a usage report says otherwise, 3 characters a token: fewer than most text
        # takes, so the estimate errs on the side of a prompt that fits.
        self._chars_per_token = 3.0
        started = time.perf_counter()
        self.model = self._resolve_model(model)
        self._window: int | None = self._windows.get(self.model)
        self.stats.load_s = time.perf_counter() - started

    # -- the Backend interface ---------------------------------------------------------------

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Send the shared prefix once with a one-token reply, so the server caches it."""
        started = time.perf_counter()
        try:
            self._client.chat.completions.create(
                **self._request(prefix, max_tokens=1, temperature=None, seed=None)
            )
        except self._openai.APIError as exc:
            raise self._explain(exc, "/chat/completions") from None
        elapsed = time.perf_counter() - started
        self.stats.extra["prefix_eval_s"] = elapsed
        self.stats.load_s += elapsed

    def _generate(self, call: GenerateCall) -> Generation:
        """Complete the conversation; with `schema`, the reply is JSON checked against it."""
        try:
            gen = self._complete(call)
        except ContextOverflowError as exc:
            self._window = exc.size  # the server said how much it holds
            raise
        if gen.prompt_tokens > 0:  # what the server counted calibrates the next estimate
            self._chars_per_token = max(1.0, _chars(call.messages) / gen.prompt_tokens)
        return gen

    def _complete(self, call: GenerateCall) -> Generation:
        messages, schema, on_text, cancel = call.messages, call.schema, call.on_text, call.cancel
        request = self._request(
            messages, max_tokens=call.max_tokens, temperature=call.temperature, seed=call.seed
        )
        request.update(stream=True, stream_options={"include_usage": True})
        if schema is None:
            reply = self._stream(self._client, request, on_text, cancel)
            return self._finish(reply, reply.pieces)
        confirmed = self._form
        if confirmed is not None:
            body = _FORMS[confirmed][1](schema)
            reply = self._stream(self._client, {**request, "extra_body": body}, on_text, cancel)
            problem = check_reply(reply.pieces, schema, cut=_cut_short(reply))
            if problem is not None:
                raise BackendUnavailableError(
                    f"the server at {self.base_url} returned {problem} although a JSON "
                    f"Schema was asked for; {_SERVER_FIX}"
                )
            return self._finish(reply, reply.pieces)
        # No spelling has worked yet: each try is read whole before anything reaches
        # on_text, so that a server which ignores the schema streams nothing wrong.
        said: list[str] = []
        for index, (form_name, form) in enumerate(_FORMS):
            probe = {**request, "extra_body": form(schema)}
            try:
                reply = self._stream(self._probe_client, probe, None, cancel, probing=True)
            except self._openai.APIStatusError as exc:
                if not _rejects_format(exc):
                    raise self._explain(exc, "/chat/completions") from None
                said.append(f"{form_name}: {_one_line(_message(exc), 100)}")
                continue
            problem = check_reply(reply.pieces, schema, cut=_cut_short(reply))
            if problem is not None:
                said.append(f"{form_name}: {problem}")
                continue
            if reply.finish_reason != "length":
                with self._form_lock:
                    self._form = index
            return self._finish(reply, _replay(reply.pieces, on_text))
        raise BackendUnavailableError(
            f"the server at {self.base_url} constrains output to none of the JSON Schema "
            f"response_format forms llmos sends ({'; '.join(said)}); {_SERVER_FIX}"
        )

    def describe(self) -> str:
        """The server and the model it serves."""
        return f"openai-compatible server at {self.base_url}, model {self.model}"

    def count_tokens(
        self, messages: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """An estimate, as the server's tokenizer is not here: the characters sent over the
        characters per token of the server's last usage report (3 before the first)."""
        return math.ceil(_chars(messages) / self._chars_per_token)

    def context_window(self) -> int | None:
        """What /models stated for the model, or the server's last overflow error; None
        until either has said."""
        return self._window

    def close(self) -> None:
        """Close the connections the SDK keeps open."""
        self._client.close()

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float | None,
        seed: int | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if seed is not None:
            request["seed"] = seed
        return request

    def _stream(
        self,
        client: openai.OpenAI,
        request: dict[str, Any],
        on_text: Callable[[str], bool | None] | None,
        cancel: threading.Event | None,
        *,
        probing: bool = False,
    ) -> Reply:
        """One streamed request; a refused response_format is left to a probing caller."""
        try:
            return stream_reply(client, request, on_text, cancel)
        except self._openai.APIStatusError as exc:
            if probing and _rejects_format(exc):
                raise
            raise self._explain(exc, "/chat/completions") from None
        except self._openai.APIError as exc:
            raise self._explain(exc, "/chat/completions") from None

    def _finish(self, reply: Reply, pieces: list[str]) -> Generation:
        usage = reply.usage or {}
        full = len(pieces) == len(reply.pieces) and not reply.stopped
        completion = _int(usage.get("completion_tokens")) if full else None
        details = usage.get("prompt_tokens_details")
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else None
        if cached is None:
            cached = _int(usage.get("cache_n"))
        gen = Generation(
            text="".join(pieces),
            prompt_tokens=_int(usage.get("prompt_tokens")) or 0,
            cached_tokens=cached or 0,
            # Servers that report no usage send one token per chunk (llama-cpp-python).
            completion_tokens=completion if completion is not None else len(pieces),
            prompt_s=(reply.first_piece_at or reply.ended) - reply.started,
            total_s=reply.ended - reply.started,
        )
        return gen

    # -- the model the server serves -----------------------------------------------------------

    def _resolve_model(self, model: str | None) -> str:
        served = self._served_models()
        if served is None:  # the server has no /models: it may still serve the model named
            if model is not None:
                return model  # the first request will tell whether it is served
            raise BackendUnavailableError(
                f"the server at {self.base_url} has no /models endpoint (HTTP 404); "
                f"{_CHECK_URL} (it usually ends in /v1), or set model to the served "
                "model's name"
            )
        if model is None:
            if not served:
                raise BackendUnavailableError(
                    f"the server at {self.base_url} serves no model; load a model into the "
                    "server, or set model to the served model's name with `llmos config`"
                )
            return served[0]
        if served and model not in served and f"{model}:latest" not in served:
            shown = ", ".join(served[:5]) + (", …" if len(served) > 5 else "")
            raise BackendUnavailableError(
                f"the server at {self.base_url} does not serve the model {model!r} (it serves "
                f"{shown}); set model to one of those, or leave it empty for the first, "
                "with `llmos config`"
            )
        return model

    def _served_models(self) -> list[str] | None:
        """The ids GET /models lists; None when the server has no such endpoint."""
        try:
            # Read raw: the SDK's own parsing fails obscurely on a page that is not JSON.
            raw = self._client.models.with_raw_response.list()
            listing = raw.http_response.json()
        except self._openai.NotFoundError:
            return None
        except self._openai.APIError as exc:
            raise self._explain(exc, "/models") from None
        except ValueError:
            raise BackendUnavailableError(
                f"the server at {self.base_url} answered /models with something other than "
                f"JSON; {_CHECK_URL} (it usually ends in /v1)"
            ) from None
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            return []
        ids: list[str] = []
        for entry in entries:
            name = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(name, str) and name:
                ids.append(name)
                window = _int(entry.get("max_model_len"))
                if window:
                    self._windows[name] = window
        return ids

    # -- errors a person reads ---------------------------------------------------------------

    def _explain(self, exc: openai.APIError, path: str) -> LlmosError:
        """One sentence for a failed request: what the server said, and the fix."""
        url = self.base_url
        if isinstance(exc, self._openai.APITimeoutError):
            return BackendUnavailableError(
                f"the server at {url} did not answer {path} within {self.timeout_s:g} s; "
                f"check that it is running and not overloaded, or {_CHECK_URL}"
            )
        if isinstance(exc, self._openai.APIConnectionError):
            return self._transport_error(exc)
        message = _message(exc)
        overflow = _context_overflow(message)
        if overflow is not None:
            return overflow
        said = _one_line(message)
        status = exc.status_code if isinstance(exc, self._openai.APIStatusError) else None
        if status in (401, 403):
            if not self.api_key:
                return BackendUnavailableError(
                    f"the server at {url} needs an API key (HTTP {status}); {_KEY_FIX}"
                )
            return BackendUnavailableError(
                f"the server at {url} refused the API key (HTTP {status}: {said}); {_KEY_FIX}"
            )
        if status == 404:
            if "model" in message.lower():
                return BackendUnavailableError(
                    f"the server at {url} does not serve the model {self.model!r} ({said}); "
                    "set model to a model it serves, or leave it empty for the first, with "
                    "`llmos config`"
                )
            return BackendUnavailableError(
                f"the server at {url} has no {path} endpoint (HTTP 404); {_CHECK_URL} "
                "(it usually ends in /v1)"
            )
        if status == 429:
            return BackendUnavailableError(
                f"the server at {url} is rate-limiting requests (HTTP 429: {said}); wait and "
                "try again, or check the account's limits"
            )
        if status is None:  # an error event in the middle of a stream
            return BackendUnavailableError(
                f"the server at {url} stopped the reply with an error ({said}); check the "
                f"server's log, or {_CHECK_URL}"
            )
        return BackendUnavailableError(
            f"the server at {url} answered {path} with HTTP {status} ({said}); check "
            f"the server's log, or {_CHECK_URL}"
        )

    def _transport_error(self, exc: BaseException) -> BackendUnavailableError:
        url = self.base_url
        chain = list(causes(exc))
        refused = next((c for c in chain if isinstance(c, ConnectionRefusedError)), None)
        if refused is not None:
            return BackendUnavailableError(
                f"nothing answers at {url} (connection refused); start the server, or {_CHECK_URL}"
            )
        unknown = next((c for c in chain if isinstance(c, socket.gaierror)), None)
        if unknown is not None:
            return BackendUnavailableError(
                f"the host in {url} cannot be found ({unknown.strerror}); {_CHECK_URL}"
            )
        tls = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
        if tls is not None:
            return BackendUnavailableError(
                f"the TLS connection to {url} failed ({tls.reason or tls}); "
                f"{_CHECK_URL} (http:// or https://)"
            )
        detail = str(chain[-1]) or type(chain[-1]).__name__
        return BackendUnavailableError(
            f"the connection to {url} failed ({_one_line(detail)}); check that the server is "
            f"running, or {_CHECK_URL}"
        )


# -- helpers -------------------------------------------------------------------------------


def _replay(pieces: list[str], on_text: Callable[[str], bool | None] | None) -> list[str]:
    """Hand buffered pieces to on_text; the pieces up to where it asked to stop."""
    if on_text is None:
        return pieces
    for count, piece in enumerate(pieces, 1):
        if on_text(piece):
            return pieces[:count]
    return pieces


def _cut_short(reply: Reply) -> bool:
    """Whether the reply was cut short on purpose or by max_tokens: only its start counts."""
    return reply.stopped or reply.finish_reason == "length"


def _message(exc: openai.APIError) -> str:
    """The server's own words in an error: an OpenAI-style body, FastAPI's, or plain text."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body.get("message", body)))
        if isinstance(error, dict):
            error = error.get("message", error)
        if isinstance(error, list):  # FastAPI's validation errors
            error = "; ".join(
                str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in error
            )
        if error:
            return str(error)
    if isinstance(body, str) and body.strip():
        return body
    response = getattr(exc, "response", None)
    return str(getattr(response, "reason_phrase", "") or exc.message)


def _rejects_format(exc: openai.APIStatusError) -> bool:
    """Whether an error status is the server refusing the response_format it was sent."""
    if exc.status_code not in _REJECTED_BODY:
        return False
    message = _message(exc).lower()
    return exc.status_code == 422 or any(word in message for word in _FORMAT_WORDS)


def _one_line(message: str, limit: int = 160) -> str:
    """The server's message on one line, cut to `limit` characters."""
    line = " ".join(message.split()) or "no details"
    return line if len(line) <= limit else line[: limit - 1] + "…"


_CONTEXT = re.compile(r"maximum context length is (\d+) tokens.*?requested (\d+) tokens", re.S)


def _context_overflow(message: str) -> LlmosError | None:
    """The context-window error, when the server's message is OpenAI's one for it."""
    match = _CONTEXT.search(message)
    if match is None:
        return None
    return ContextOverflowError(int(match.group(2)), int(match.group(1)))


def _chars(messages: Sequence[ChatMessage]) -> int:
    """The characters a conversation sends, with a few for each turn's role markers."""
    return sum(len(m.content) + 12 for m in messages)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
