"""A model behind an OpenAI-compatible server: vLLM, llama.cpp's server, Ollama, LM Studio.

HTTP is spoken with the standard library, so the base install gains no dependency. Replies
are streamed as server-sent events. Output is constrained with a JSON Schema
`response_format`, which servers spell differently: the known spellings are tried in order
and the first that works is kept for the life of the backend. Every constrained reply is
checked against the schema, so unconstrained text never passes for a plan.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmos_shell.backends.base import ChatMessage, Generation, GenerationStats
from llmos_shell.backends.conformance import conforms
from llmos_shell.backends.sse import close_on_cancel, read_events
from llmos_shell.errors import BackendUnavailableError, Cancelled, ContextOverflowError, LlmosError

if TYPE_CHECKING:
    from llmos_shell.config import LoadedConfig

_CHECK_URL = "check base_url with `llmos config`"
_KEY_FIX = (
    "set the key in the environment variable named by the api_key_env setting "
    "(`llmos config` shows both)"
)
_SERVER_FIX = (
    "use a server that supports JSON Schema response_format, such as llama.cpp's server or vLLM"
)
# Statuses with which servers reject a request body they do not understand (llama-cpp-python
# answers an unknown response_format type with a 500 that wraps its validation error).
_REJECTED_BODY = {400, 415, 422, 500, 501}
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema", "grammar")


def _json_schema_form(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's spelling: vLLM, llama.cpp's server, Ollama, LM Studio."""
    return {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "action", "schema": schema, "strict": True},
        }
    }


def _json_object_form(schema: dict[str, Any]) -> dict[str, Any]:
    """The older spelling with the schema beside the type: llama-cpp-python's server."""
    return {"response_format": {"type": "json_object", "schema": schema}}


_FORMS: tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    ("json_schema", _json_schema_form),
    ("json_object+schema", _json_object_form),
)


class _StatusError(Exception):
    """The server answered with an HTTP error status."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.path = path


@dataclass
class _Reply:
    """What one streamed request brought back."""

    pieces: list[str]
    finish_reason: str | None
    stopped: bool
    usage: dict[str, Any] | None
    started: float
    first_piece_at: float | None
    ended: float


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


class OpenAICompatBackend:
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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendUnavailableError(
                f"base_url {base_url!r} is not an http:// or https:// URL; set it to the "
                "server's address, such as http://127.0.0.1:8080/v1 (`llmos config` shows "
                "where it is set)"
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        try:
            self._port = parts.port
        except ValueError:
            raise BackendUnavailableError(
                f"base_url {base_url!r} has an invalid port; {_CHECK_URL}"
            ) from None
        self._path = parts.path.rstrip("/")
        self.api_key = api_key
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.stats = GenerationStats()
        self._form: int | None = None  # index into _FORMS once a spelling has worked
        self._form_lock = threading.Lock()
        started = time.perf_counter()
        self.model = self._resolve_model(model)
        self.stats.load_s = time.perf_counter() - started

    # -- the Backend interface ---------------------------------------------------------------

    def prepare(
        self, prefix: Sequence[ChatMessage], *, tools: Sequence[dict[str, Any]] | None = None
    ) -> None:
        """Send the shared prefix once with a one-token reply, so the server caches it."""
        started = time.perf_counter()
        body = self._body(prefix, max_tokens=1, temperature=None, seed=None)
        body["stream"] = False
        del body["stream_options"]  # servers refuse it on a request that does not stream
        self._call_json("POST", "/chat/completions", body)
        elapsed = time.perf_counter() - started
        self.stats.extra["prefix_eval_s"] = elapsed
        self.stats.load_s += elapsed

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
        """Complete the conversation; with `schema`, the reply is JSON checked against it."""
        body = self._body(messages, max_tokens=max_tokens, temperature=temperature, seed=seed)
        if schema is None:
            reply = self._stream(body, on_text, cancel)
            return self._finish(reply, reply.pieces)
        confirmed = self._form
        if confirmed is not None:
            reply = self._stream({**body, **_FORMS[confirmed][1](schema)}, on_text, cancel)
            problem = _check_reply(reply, schema)
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
            try:
                reply = self._stream_raw({**body, **form(schema)}, None, cancel)
            except _StatusError as exc:
                if not _rejects_format(exc):
                    raise (_context_overflow(exc) or self._explain(exc)) from None
                said.append(f"{form_name}: {_one_line(exc.message, 100)}")
                continue
            problem = _check_reply(reply, schema)
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

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int | None:
        """None: the server's tokenizer is not here; its usage reports count instead."""
        return None

    def close(self) -> None:
        """Nothing to free: every request opens and closes its own connection."""

    # -- requests ----------------------------------------------------------------------------

    def _body(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float | None,
        seed: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if seed is not None:
            body["seed"] = seed
        return body

    def _stream(
        self,
        body: dict[str, Any],
        on_text: Callable[[str], bool | None] | None,
        cancel: threading.Event | None,
    ) -> _Reply:
        try:
            return self._stream_raw(body, on_text, cancel)
        except _StatusError as exc:
            context = _context_overflow(exc)
            raise (context or self._explain(exc)) from None

    def _stream_raw(
        self,
        body: dict[str, Any],
        on_text: Callable[[str], bool | None] | None,
        cancel: threading.Event | None,
    ) -> _Reply:
        """One streamed request; raises _StatusError when the server refuses it."""
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        started = time.perf_counter()
        conn = self._connection()
        done = threading.Event()
        if cancel is not None:
            # A read blocks while the server evaluates the prompt; shutting the socket
            # from beside it is what ends that wait when the person cancels.
            threading.Thread(
                target=close_on_cancel, args=(cancel, done, conn), daemon=True
            ).start()
        reply = _Reply([], None, False, None, started, None, started)
        try:
            response = self._send(conn, "POST", "/chat/completions", body)
            for event in read_events(response):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                if self._take(event, reply, on_text):
                    reply.stopped = True
                    break
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if cancel is not None and cancel.is_set():
                raise Cancelled() from None
            raise self._transport_error(exc, "/chat/completions") from None
        finally:
            done.set()
            conn.close()
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        reply.ended = time.perf_counter()
        return reply

    def _take(
        self,
        event: dict[str, Any],
        reply: _Reply,
        on_text: Callable[[str], bool | None] | None,
    ) -> bool:
        """Fold one streamed chunk into `reply`; True when on_text asked to stop."""
        if "error" in event:
            error = event["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise _StatusError(500, str(message), "/chat/completions")
        usage = event.get("usage")
        if isinstance(usage, dict):
            reply.usage = usage
        timings = event.get("timings")
        if isinstance(timings, dict) and "cache_n" in timings:
            # llama.cpp's server counts the prompt tokens it reused only here.
            reply.usage = {**(reply.usage or {}), "cache_n": timings["cache_n"]}
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                reply.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta") or {}
            piece = delta.get("content") if isinstance(delta, dict) else None
            if not isinstance(piece, str) or not piece:
                continue
            if reply.first_piece_at is None:
                reply.first_piece_at = time.perf_counter()
            reply.pieces.append(piece)
            if on_text is not None and on_text(piece):
                return True
        return False

    def _finish(self, reply: _Reply, pieces: list[str]) -> Generation:
        usage = reply.usage or {}
        full = len(pieces) == len(reply.pieces)
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
        self.stats.record(gen)
        return gen

    # -- the model the server serves -----------------------------------------------------------

    def _resolve_model(self, model: str | None) -> str:
        try:
            listing = self._call_json("GET", "/models", None)
        except _StatusError:  # only a 404: the server may not list its models
            if model is not None:
                return model  # the first request will tell whether it is served
            raise BackendUnavailableError(
                f"the server at {self.base_url} has no /models endpoint (HTTP 404); "
                f"{_CHECK_URL} (it usually ends in /v1), or set model to the served "
                "model's name"
            ) from None
        served = _model_ids(listing)
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

    def _call_json(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """One request answered with JSON; a 404 from /models is left to the caller."""
        conn = self._connection()
        try:
            response = self._send(conn, method, path, body)
            raw = response.read()
        except _StatusError as exc:
            if path == "/models" and exc.status == 404:
                raise
            raise (_context_overflow(exc) or self._explain(exc)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._transport_error(exc, path) from None
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except ValueError:
            raise BackendUnavailableError(
                f"the server at {self.base_url} answered {path} with something other than "
                f"JSON; {_CHECK_URL} (it usually ends in /v1)"
            ) from None

    def _connection(self) -> http.client.HTTPConnection:
        """A new connection to the server (one per request: nothing to keep alive)."""
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout_s)

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> http.client.HTTPResponse:
        """Send one request; the response is open for reading. Raises _StatusError on >= 400."""
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "llmos"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        conn.request(method, self._path + path, body=data, headers=headers)
        response = conn.getresponse()
        if response.status >= 400:
            try:
                text = response.read(65536).decode("utf-8", errors="replace")
            except (OSError, http.client.HTTPException):
                text = ""
            raise _StatusError(response.status, _error_message(text, response.reason), path)
        return response

    # -- errors a person reads ---------------------------------------------------------------

    def _transport_error(self, exc: BaseException, path: str) -> BackendUnavailableError:
        url = self.base_url
        if isinstance(exc, ConnectionRefusedError):
            return BackendUnavailableError(
                f"nothing answers at {url} (connection refused); start the server, or {_CHECK_URL}"
            )
        if isinstance(exc, socket.gaierror):
            return BackendUnavailableError(
                f"the host in {url} cannot be found ({exc.strerror}); {_CHECK_URL}"
            )
        if isinstance(exc, TimeoutError):
            return BackendUnavailableError(
                f"the server at {url} did not answer {path} within {self.timeout_s:g} s; "
                f"check that it is running and not overloaded, or {_CHECK_URL}"
            )
        if isinstance(exc, ssl.SSLError):
            return BackendUnavailableError(
                f"the TLS connection to {url} failed ({exc.reason or exc}); "
                f"{_CHECK_URL} (http:// or https://)"
            )
        if isinstance(exc, ValueError):
            return BackendUnavailableError(
                f"the server at {url} sent a stream llmos cannot read ({exc}); "
                f"{_CHECK_URL}, and that the server speaks the OpenAI API"
            )
        detail = str(exc) or type(exc).__name__
        return BackendUnavailableError(
            f"the connection to {url} failed ({detail}); check that the server is running, "
            f"or {_CHECK_URL}"
        )

    def _explain(self, exc: _StatusError) -> BackendUnavailableError:
        url = self.base_url
        said = _one_line(exc.message)
        if exc.status in (401, 403):
            if not self.api_key:
                return BackendUnavailableError(
                    f"the server at {url} needs an API key (HTTP {exc.status}); {_KEY_FIX}"
                )
            return BackendUnavailableError(
                f"the server at {url} refused the API key (HTTP {exc.status}: {said}); {_KEY_FIX}"
            )
        if exc.status == 404:
            if "model" in exc.message.lower():
                return BackendUnavailableError(
                    f"the server at {url} does not serve the model {self.model!r} ({said}); "
                    "set model to a model it serves, or leave it empty for the first, with "
                    "`llmos config`"
                )
            return BackendUnavailableError(
                f"the server at {url} has no {exc.path} endpoint (HTTP 404); {_CHECK_URL} "
                "(it usually ends in /v1)"
            )
        if exc.status == 429:
            return BackendUnavailableError(
                f"the server at {url} is rate-limiting requests (HTTP 429: {said}); wait and "
                "try again, or check the account's limits"
            )
        return BackendUnavailableError(
            f"the server at {url} answered {exc.path} with HTTP {exc.status} ({said}); check "
            f"the server's log, or {_CHECK_URL}"
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


def _check_reply(reply: _Reply, schema: dict[str, Any]) -> str | None:
    """Why a constrained reply cannot be accepted, or None when it can."""
    text = "".join(reply.pieces).strip()
    if reply.stopped or reply.finish_reason == "length":
        # Cut short on purpose or by max_tokens: only its start can be judged.
        if not text or text[0] in "{[":
            return None
        return f"text that is not JSON ({text[:60]!r})"
    try:
        value = json.loads(text)
    except ValueError:
        return f"text that is not JSON ({text[:60]!r})"
    if not conforms(value, schema):
        return f"JSON that does not fit the schema ({text[:60]!r})"
    return None


def _model_ids(listing: Any) -> list[str]:
    if not isinstance(listing, dict):
        return []
    entries = listing.get("data")
    if not isinstance(entries, list):
        return []
    ids = []
    for entry in entries:
        if isinstance(entry, dict):
            name = entry.get("id")
            if isinstance(name, str) and name:
                ids.append(name)
    return ids


def _error_message(text: str, reason: str) -> str:
    """The message inside an OpenAI-style error body, or the body, or the HTTP reason."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip() or reason
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if isinstance(error, list):  # FastAPI's validation errors
            error = "; ".join(
                str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in error
            )
        if error:
            return str(error)
    return text.strip() or reason


def _rejects_format(exc: _StatusError) -> bool:
    """Whether an error status is the server refusing the response_format it was sent."""
    if exc.status not in _REJECTED_BODY:
        return False
    message = exc.message.lower()
    return exc.status == 422 or any(word in message for word in _FORMAT_WORDS)


def _one_line(message: str, limit: int = 160) -> str:
    """The server's message on one line, cut to `limit` characters."""
    line = " ".join(message.split()) or "no details"
    return line if len(line) <= limit else line[: limit - 1] + "…"


_CONTEXT = re.compile(r"maximum context length is (\d+) tokens.*?requested (\d+) tokens", re.S)


def _context_overflow(exc: _StatusError) -> LlmosError | None:
    """The context-window error, when the server's message is OpenAI's one for it."""
    match = _CONTEXT.search(exc.message)
    if match is None:
        return None
    return ContextOverflowError(int(match.group(2)), int(match.group(1)))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
