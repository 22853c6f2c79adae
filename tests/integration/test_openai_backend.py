"""The OpenAI-compatible backend against a real llama-cpp-python server on loopback.

The server runs the embedded model in its own process; the backend speaks HTTP to it as it
would to vLLM or llama.cpp's server. The tests that plan come first: they share the server's
cached prompt prefix, which a request with another prompt replaces. Small servers of our own
on loopback stand for what the real one cannot show: a server without JSON Schema support,
one that wants a key, and one that streams tool calls as vLLM does.
"""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmos_shell.backends.base import ChatMessage
from llmos_shell.backends.conformance import conforms
from llmos_shell.backends.openai_compat import OpenAICompatBackend, from_config
from llmos_shell.config import load_config
from llmos_shell.errors import BackendUnavailableError, Cancelled, ContextOverflowError
from llmos_shell.models.locate import embedded_model_path
from llmos_shell.planning.planner import Planner, Transcript
from llmos_shell.registry import discover

SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context")
STARTUP_TIMEOUT_S = 60
CLI_TIMEOUT_S = 300  # the server may share two cores with other work
DISK_REQUEST = "how much disk space is free?"

SMALL_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "units": {"enum": ["metric", "imperial"]},
    },
    "required": ["city", "days", "units"],
    "additionalProperties": False,
}
WEATHER = [
    ChatMessage("system", "Reply with JSON only."),
    ChatMessage("user", "Weather in Paris for the next 3 days, in metric units."),
]
DISK = [ChatMessage("system", "Plan one tool call."), ChatMessage("user", DISK_REQUEST)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# The tests on the llama-cpp-python server load the real model (conftest.py marks them).
MODEL_FIXTURES = frozenset({"server"})


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama-cpp-python server on the embedded model; yields its base URL."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"llama-cpp-python's server extra is not installed ({', '.join(missing)} missing); "
            "install it with pip install 'llama-cpp-python[server]'"
        )
    port = _free_port()
    log = tmp_path_factory.mktemp("openai-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llmos_shell.backends.llama_params",  # llama_cpp.server, guarded
        "--model",
        str(embedded_model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "1",
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the server did not answer in {STARTUP_TIMEOUT_S} s:\n{_log_tail(log)}"
                )
            time.sleep(0.25)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def backend(server: str) -> OpenAICompatBackend:
    return OpenAICompatBackend(server, model=None, api_key=None)


def test_describe_names_the_server_and_the_served_model(
    backend: OpenAICompatBackend, server: str
) -> None:
    assert backend.model == str(embedded_model_path())  # the first (only) one listed
    assert backend.describe() == f"openai-compatible server at {server}, model {backend.model}"


def test_the_planner_plans_through_the_server_within_the_grammar(
    backend: OpenAICompatBackend, tmp_path: Path
) -> None:
    """Whatever step the served model picks, it is a valid call of an offered tool or an
    answer, and the text the server sent is exactly that step (the grammar held)."""
    registry = discover(tmp_path / "plugins")
    planner = Planner(backend, registry)
    planner.warm_up()
    assert backend.stats.extra["prefix_eval_s"] > 0
    action = planner.next_action(Transcript(DISK_REQUEST))
    assert (action.call is None) != (action.answer is None), action
    assert action.generation is not None
    if action.call is not None:
        registry.get(action.call.tool).validate(action.call.arguments)
        assert json.loads(action.generation.text)["tool"] == action.call.tool
    else:  # an answer may be cut short when it loops, so it need not close
        assert action.generation.text.lstrip().startswith('{"answer"')


def test_cli_plans_through_the_server(server: str, tmp_path: Path) -> None:
    env = {**os.environ, "LLMOS_BACKEND": "openai", "LLMOS_BASE_URL": server}
    done = subprocess.run(
        [sys.executable, "-m", "llmos_shell", "plan", "--json", DISK_REQUEST],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=CLI_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout.strip().splitlines()[-1])
    registry = discover(tmp_path / "plugins")
    for call in plan["calls"]:
        registry.get(call["tool"]).validate(call["arguments"])  # raises if not a valid call
    assert (plan["answer"] is None) == bool(plan["calls"]), plan
    state = Path(os.environ["LLMOS_STATE_DIR"])
    assert not (state / "audit.jsonl").exists()  # planning runs nothing


def test_generate_with_a_schema_returns_conforming_json(server: str) -> None:
    backend = OpenAICompatBackend(server, model=None, api_key=None)
    generation = backend.generate(WEATHER, schema=SMALL_SCHEMA, max_tokens=80)
    data = json.loads(generation.text)
    assert conforms(data, SMALL_SCHEMA), data
    assert generation.completion_tokens > 0
    assert 0 < generation.prompt_s <= generation.total_s
    assert backend.stats.requests == 1
    assert backend.stats.completion_tokens == generation.completion_tokens
    # The installed server refuses OpenAI's json_schema form; the one that worked is kept.
    assert backend._form is not None
    again = backend.generate(WEATHER, schema=SMALL_SCHEMA, max_tokens=80)
    assert conforms(json.loads(again.text), SMALL_SCHEMA)
    assert backend.stats.requests == 2


def test_streaming_hands_over_pieces_and_stops_when_asked(
    backend: OpenAICompatBackend,
) -> None:
    messages = [ChatMessage("user", "Count from one to twenty in words, separated by commas.")]
    pieces: list[str] = []
    full = backend.generate(messages, schema=None, max_tokens=48, on_text=pieces.append)
    assert len(pieces) > 3
    assert "".join(pieces) == full.text

    seen: list[str] = []

    def stop_after_three(piece: str) -> bool:
        seen.append(piece)
        return len(seen) == 3

    before = backend.stats.requests
    short = backend.generate(messages, schema=None, max_tokens=48, on_text=stop_after_three)
    assert len(seen) == 3
    assert short.text == "".join(seen)
    assert len(short.text) < len(full.text)
    assert backend.stats.requests == before + 1


def test_cancel_aborts_a_generation(backend: OpenAICompatBackend) -> None:
    cancel = threading.Event()

    def cancel_at_first_piece(piece: str) -> None:
        cancel.set()

    messages = [ChatMessage("user", "Write a long story about a lighthouse.")]
    with pytest.raises(Cancelled):
        backend.generate(
            messages, schema=None, max_tokens=64, on_text=cancel_at_first_piece, cancel=cancel
        )


def test_a_closed_port_names_the_url_and_the_fix() -> None:
    with socket.socket() as held:  # bound by the test and never listened on: refused
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}/v1"
        with pytest.raises(BackendUnavailableError) as caught:
            OpenAICompatBackend(url, model=None, api_key=None)
    message = str(caught.value)
    assert url in message
    assert "start the server" in message and "base_url" in message
    assert "\n" not in message


def test_a_model_the_server_does_not_serve_is_named(server: str) -> None:
    with pytest.raises(BackendUnavailableError) as caught:
        OpenAICompatBackend(server, model="no-such-model", api_key=None)
    message = str(caught.value)
    assert server in message and "'no-such-model'" in message
    assert str(embedded_model_path()) in message  # it says what is served


def test_a_base_url_without_v1_is_explained(server: str) -> None:
    root = server.removesuffix("/v1")
    with pytest.raises(BackendUnavailableError) as caught:
        OpenAICompatBackend(root, model=None, api_key=None)
    assert root in str(caught.value) and "/v1" in str(caught.value)


def test_a_server_that_never_answers_times_out_clearly() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError) as caught:
            OpenAICompatBackend(url, model="m", api_key=None, timeout_s=0.5)
        assert time.monotonic() - started < 10
        with contextlib.suppress(OSError):
            silent.accept()[0].close()
    assert url in str(caught.value) and "0.5 s" in str(caught.value)


def test_schema_check_rejects_what_does_not_fit() -> None:
    assert conforms({"city": "Paris", "days": 3, "units": "metric"}, SMALL_SCHEMA)
    assert not conforms({"city": "Paris", "days": 3}, SMALL_SCHEMA)
    assert not conforms({"city": "Paris", "days": 30, "units": "metric"}, SMALL_SCHEMA)
    assert not conforms({"city": "Paris", "days": True, "units": "metric"}, SMALL_SCHEMA)
    assert not conforms({"city": "Paris", "days": 3, "units": "metric", "x": 1}, SMALL_SCHEMA)
    action = {
        "oneOf": [
            {"properties": {"tool": {"const": "a"}}, "required": ["tool"]},
            {"properties": {"answer": {"type": "string"}}, "required": ["answer"]},
        ]
    }
    assert conforms({"tool": "a"}, action) and conforms({"answer": "hi"}, action)
    assert not conforms({"tool": "b"}, action)


class _PlainChatHandler(http.server.BaseHTTPRequestHandler):
    """A server that checks its API key and ignores response_format: it always chats."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "plain-chat"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Authorization") != f"Bearer {PLAIN_KEY}":
            self._json(401, {"error": {"message": "Invalid API key"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ("Sure! ", "It is ", "sunny."):
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        usage = {
            "prompt_tokens": 21,
            "completion_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 16},
        }
        self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


PLAIN_KEY = "sekrit"


@pytest.fixture(scope="module")
def plain_server() -> Iterator[str]:
    """A stand-in for a server without JSON Schema support; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PlainChatHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_unconstrained_text_is_never_taken_for_json(plain_server: str) -> None:
    backend = OpenAICompatBackend(plain_server, model=None, api_key=PLAIN_KEY)
    pieces: list[str] = []
    with pytest.raises(BackendUnavailableError) as caught:
        backend.generate(WEATHER, schema=SMALL_SCHEMA, max_tokens=40, on_text=pieces.append)
    message = str(caught.value)
    assert plain_server in message and "llama.cpp's server or vLLM" in message
    assert pieces == []  # nothing of the unconstrained reply was streamed on
    assert backend.stats.requests == 0


def test_usage_reported_by_the_server_is_recorded(plain_server: str) -> None:
    backend = OpenAICompatBackend(plain_server, model="plain-chat", api_key=PLAIN_KEY)
    generation = backend.generate(WEATHER, schema=None, max_tokens=40)
    assert generation.text == "Sure! It is sunny."
    assert (generation.prompt_tokens, generation.cached_tokens) == (21, 16)
    assert generation.completion_tokens == 3
    assert backend.stats.cached_tokens == 16


@pytest.mark.parametrize(("key", "says"), [(None, "needs an API key"), ("wrong", "refused")])
def test_a_missing_or_wrong_api_key_says_where_to_set_it(
    plain_server: str, key: str | None, says: str
) -> None:
    backend = OpenAICompatBackend(plain_server, model=None, api_key=key)
    with pytest.raises(BackendUnavailableError) as caught:
        backend.generate(WEATHER, schema=None, max_tokens=8)
    message = str(caught.value)
    assert plain_server in message and says in message and "api_key_env" in message


# --- a server that streams as vLLM does ---------------------------------------------------------

TOOL_CALL_PIECES = ('{"path": "', "/tmp", '", "top": ', "3", "}")
CONTENT_PIECES = ('{"tool": "disk_usage", ', '"arguments": {"path": "/tmp", ', '"top": 3}}')
STREAMED_ACTION = {"tool": "disk_usage", "arguments": {"path": "/tmp", "top": 3}}
OVERFLOW = (
    "This model's maximum context length is 2048 tokens. However, you requested 2400 tokens "
    "(2300 in the messages, 100 in the completion). Please reduce the length of the messages."
)


class _VllmLikeHandler(http.server.BaseHTTPRequestHandler):
    """Streams chat completions the way vLLM does; the requested model picks the reply.

    "tool-calls": a call in `delta.tool_calls` pieces (its name, then its arguments in
    fragments, then finish_reason "tool_calls"); "content": the same action as content
    pieces; "overflow": OpenAI's context-length error; "stalled": nothing until released,
    as a server evaluating a long prompt sends nothing.
    """

    release = threading.Event()
    sending = threading.Event()  # set before the first byte of a reply leaves

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _event(self, delta: dict[str, object], finish: str | None = None) -> None:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()

    def do_GET(self) -> None:
        models = ("tool-calls", "content", "overflow", "stalled")
        # vLLM lists each model's context as max_model_len.
        data = [{"id": name, "max_model_len": 4096} for name in models if name == "content"]
        data += [{"id": name} for name in models if name != "content"]
        self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = request["model"]
        if model == "overflow":
            self._json(400, {"error": {"message": OVERFLOW, "type": "BadRequestError"}})
            return
        if model == "stalled":
            self.release.wait(30)
        self.sending.set()
        if not request.get("stream"):  # the one-token request that caches the prefix
            message = {"role": "assistant", "content": "{"}
            self._json(200, {"choices": [{"index": 0, "message": message}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self._event({"role": "assistant", "content": ""})
        if model == "tool-calls":
            call = {"id": "chatcmpl-tool-1", "type": "function", "index": 0}
            self._event({"tool_calls": [{**call, "function": {"name": "disk_usage"}}]})
            for fragment in TOOL_CALL_PIECES:
                self._event({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
            self._event({"content": ""}, finish="tool_calls")
        else:
            for piece in CONTENT_PIECES:
                self._event({"content": piece})
            self._event({}, finish="stop")
        usage = {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}
        self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def vllm_server() -> Iterator[str]:
    """A loopback server streaming as vLLM does; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _VllmLikeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        _VllmLikeHandler.release.set()
        httpd.shutdown()
        httpd.server_close()


ACTION_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "tool": {"const": "disk_usage"},
                "arguments": {
                    "type": "object",
                    "properties": {"path": {"type": "string"}, "top": {"type": "integer"}},
                    "additionalProperties": False,
                },
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    ]
}


@pytest.mark.parametrize("model", ["tool-calls", "content"])
def test_tool_calls_and_content_stream_into_the_same_action_json(
    vllm_server: str, model: str
) -> None:
    backend = OpenAICompatBackend(vllm_server, model=model, api_key=None)
    for _ in range(2):  # the spelling is probed first, then kept
        pieces: list[str] = []
        generation = backend.generate(
            DISK, schema=ACTION_SCHEMA, max_tokens=64, on_text=pieces.append
        )
        assert json.loads(generation.text) == STREAMED_ACTION
        assert "".join(pieces) == generation.text
        assert len(pieces) > 1  # handed over piece by piece
        assert (generation.prompt_tokens, generation.completion_tokens) == (40, 9)
    assert backend._form == 0  # json_schema, the first spelling, was accepted


def test_the_planner_plans_from_a_streamed_tool_call(vllm_server: str, tmp_path: Path) -> None:
    backend = OpenAICompatBackend(vllm_server, model="tool-calls", api_key=None)
    registry = discover(tmp_path / "plugins")
    planner = Planner(backend, registry)
    planner.warm_up()
    # The server streams disk_usage(path="/tmp", top=3) whatever it is asked; a request that
    # states both values lets that call fit the schema the planner holds it to.
    action = planner.next_action(Transcript("the 3 biggest things in /tmp"))
    assert action.call is not None, f"no call planned: {action}"
    assert action.call.tool == "disk_usage"
    assert action.call.arguments == {"path": "/tmp", "top": 3}
    registry.get("disk_usage").validate(action.call.arguments)


def test_cancel_returns_while_the_server_is_still_silent(vllm_server: str) -> None:
    _VllmLikeHandler.release.clear()
    _VllmLikeHandler.sending.clear()
    backend = OpenAICompatBackend(vllm_server, model="stalled", api_key=None)
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    try:
        with pytest.raises(Cancelled):
            backend.generate(DISK, schema=None, max_tokens=16, cancel=cancel)
        # It returned before the server sent a byte, not when the server finally answered.
        assert not _VllmLikeHandler.sending.is_set()
    finally:
        timer.cancel()
        _VllmLikeHandler.release.set()


def test_a_context_overflow_is_the_planners_error(vllm_server: str) -> None:
    backend = OpenAICompatBackend(vllm_server, model="overflow", api_key=None)
    with pytest.raises(ContextOverflowError) as caught:
        backend.generate(DISK, schema=ACTION_SCHEMA, max_tokens=16)
    assert (caught.value.used, caught.value.size) == (2400, 2048)


def test_the_window_and_the_token_estimate_come_from_what_the_server_says(
    vllm_server: str,
) -> None:
    backend = OpenAICompatBackend(vllm_server, model="content", api_key=None)
    assert backend.context_window() == 4096  # from /models, as vLLM lists it
    before = backend.count_tokens(DISK)
    assert before > 0
    backend.generate(DISK, schema=ACTION_SCHEMA, max_tokens=16)
    # The server's usage report counted 40 prompt tokens for this prompt: the estimate of
    # the same prompt now says so, where before it said what 3 characters a token gives.
    assert before != 40 and abs(backend.count_tokens(DISK) - 40) <= 1
    overflowing = OpenAICompatBackend(vllm_server, model="overflow", api_key=None)
    assert overflowing.context_window() is None
    with pytest.raises(ContextOverflowError):
        overflowing.generate(DISK, schema=ACTION_SCHEMA, max_tokens=16)
    assert overflowing.context_window() == 2048  # as its error said


def test_openai_base_url_and_key_are_used_when_no_setting_names_them(
    plain_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", plain_server)
    monkeypatch.setenv("OPENAI_API_KEY", PLAIN_KEY)
    config = load_config(overrides={"backend": "openai"})
    assert config.sources["base_url"] == "environment (OPENAI_BASE_URL)"
    backend = from_config(config)
    assert backend.base_url == plain_server and backend.model == "plain-chat"
    assert backend.generate(WEATHER, schema=None, max_tokens=8).text == "Sure! It is sunny."
    # A setting still wins over the variable.
    monkeypatch.setenv("LLMOS_BASE_URL", "http://127.0.0.1:1/v1")
    assert load_config().settings.base_url == "http://127.0.0.1:1/v1"
