"""The shell in a real terminal: `llmos` in a pty, typed into, Ctrl-C sent as the terminal sends it.

The model is an OpenAI-compatible server on loopback that the test runs: it lists one model,
answers the one-token warm-up, and holds every real request open without a byte, so that a
request is surely in flight when Ctrl-C comes. The terminal driver, not the test, turns the
Ctrl-C character into SIGINT for the shell's process group.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.waiting import wait_until

DEADLINE_S = 60.0  # for the shell to start or answer, on a loaded machine
MODEL = "held-open"


class HeldServer(ThreadingHTTPServer):
    """Lists one model, answers the warm-up, holds every other completion open."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, object]] = []
        self.held = threading.Event()  # a real request is in flight
        self.release = threading.Event()  # the end of the test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    server: HeldServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _json(self, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(
                {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "test"}]}
            )
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.requests.append(body)
        if body.get("max_tokens") == 1:  # the warm-up of the shared prefix
            self._json({
                "id": "warm", "object": "chat.completion", "created": 0, "model": MODEL,
                "choices": [{"index": 0, "finish_reason": "length",
                             "message": {"role": "assistant", "content": "{"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })  # fmt: skip
            return
        self.server.held.set()
        self.server.release.wait(DEADLINE_S * 2)  # never a byte while the test runs


@pytest.fixture
def held_server() -> Iterator[HeldServer]:
    server = HeldServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


class Terminal:
    """`llmos` started in a pty of its own; what it prints is read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.chdir(cwd)
                os.execvpe(sys.executable, [sys.executable, "-m", "llmos_shell", *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = b""
        self.status: int | None = None

    def read(self) -> bool:
        """Take what the shell has printed by now; false once it has closed the terminal."""
        while select.select([self.fd], [], [], 0.05)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the child has exited and the pty is closed
                return False
            if not chunk:
                return False
            self.output += chunk
        return True

    def expect(self, text: str, after: int = 0, timeout_s: float = DEADLINE_S) -> int:
        """Wait until `text` is printed (past byte `after`); return where it ends."""
        needle = text.encode()
        deadline = time.monotonic() + timeout_s
        while self.output.find(needle, after) < 0:
            if not self.read() or time.monotonic() > deadline:
                pytest.fail(
                    f"waited for {text!r} in the terminal; it showed:\n{self.text()[-2000:]}"
                )
        return self.output.find(needle, after) + len(needle)

    def type(self, keys: str | bytes) -> None:
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait(self, timeout_s: float = DEADLINE_S) -> int:
        """The exit status once the shell has ended; fails the test after `timeout_s`."""

        def ended() -> bool:
            self.read()
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            return self.status is not None

        deadline = time.monotonic() + timeout_s
        while not ended():
            if time.monotonic() > deadline:
                pytest.fail(f"waited for the shell to end; it showed:\n{self.text()[-2000:]}")
            time.sleep(0.05)
        assert self.status is not None
        return self.status

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


@pytest.fixture
def terminal(held_server: HeldServer, tmp_path: Path) -> Iterator[Terminal]:
    env = {
        **os.environ,
        "LLMOS_BACKEND": "openai",
        "LLMOS_BASE_URL": held_server.url,
        "LLMOS_MODEL": MODEL,
        "LLMOS_MEMORY": "false",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # the test reads the screen; it answers no cursor queries
        "COLUMNS": "100",
        "LINES": "30",
    }
    work = tmp_path / "work"
    work.mkdir()
    shell = Terminal([], env, work)
    yield shell
    shell.close()


def test_ctrl_c_during_a_request_cancels_it_and_the_prompt_comes_back(
    terminal: Terminal, held_server: HeldServer
) -> None:
    start = terminal.expect("llmos>")
    terminal.type("how much disk space is free?\r")
    wait_until(held_server.held.is_set, "the request to reach the model", DEADLINE_S)
    assert terminal.read(), "the shell ended while its request was in flight"
    started = time.monotonic()
    terminal.type(b"\x03")  # what the Ctrl-C key sends; the terminal driver raises SIGINT
    cancelled = terminal.expect("Cancelled.", after=start)
    assert time.monotonic() - started < 30, "the cancel waited for the model"
    terminal.expect("llmos>", after=cancelled)  # the shell goes on
    terminal.type(b"\x04")  # Ctrl-D at the prompt leaves
    assert terminal.wait() == 0, terminal.text()[-2000:]
    assert "Bye." in terminal.text()
    assert "Traceback" not in terminal.text()


def test_ctrl_c_at_the_prompt_clears_the_line_and_runs_nothing(
    terminal: Terminal, held_server: HeldServer
) -> None:
    terminal.expect("llmos>")
    warmed = len(held_server.requests)
    terminal.type("delete every file here")
    terminal.expect("delete every file here")
    terminal.type(b"\x03")  # at the prompt the line is in raw mode: a key that clears the line
    terminal.type("/exit\r")
    assert terminal.wait() == 0, terminal.text()[-2000:]
    assert len(held_server.requests) == warmed, "the cleared line was sent to the model"
    assert not held_server.held.is_set()
