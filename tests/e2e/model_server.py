"""A loopback server that answers the OpenAI chat API as a model would, from a table.

`llmos` runs for real in its own process on the openai backend against it, so tests of the
command line (a key binding, a conversation continued in a new process) need no model. Each
reply is the content the table gives for the first of its needles found in the last message;
every request is kept for the test to read.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelServer:
    """The server's address, its table of replies, and the requests it was sent."""

    url: str
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # needle -> JSON reply
    requests: list[list[dict[str, Any]]] = field(default_factory=list)
    delay_s: float = 0.0  # before each reply, as a model takes its time

    def reply_for(self, messages: list[dict[str, Any]]) -> str | None:
        last = str(messages[-1].get("content") or "")
        for needle, reply in self.replies.items():
            if needle in last:
                return json.dumps(reply)
        return None


def _handler(server: ModelServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
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
            self._json(200, {"object": "list", "data": [{"id": "table"}]})

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            messages = request["messages"]
            if messages[-1]["role"] != "user":  # a prefix warmed up: nothing to say yet
                message = {"role": "assistant", "content": "{"}
                self._json(200, {"choices": [{"index": 0, "message": message}]})
                return
            server.requests.append(messages)
            time.sleep(server.delay_s)
            content = server.reply_for(messages)
            if content is None:
                error = {"message": "no reply for that", "type": "server_error"}
                self._json(500, {"error": error})
                return
            if not request.get("stream"):
                message = {"role": "assistant", "content": content}
                self._json(200, {"choices": [{"index": 0, "message": message}]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in (content[:5], content[5:]):
                event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


@contextmanager
def model_server() -> Iterator[ModelServer]:
    """A running server; its URL ends in /v1, as the openai backend's base_url does."""
    server = ModelServer(url="")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def environment(server: ModelServer) -> dict[str, str]:
    """The variables that point `llmos` at the server."""
    return {
        "LLMOS_BACKEND": "openai",
        "LLMOS_BASE_URL": server.url,
        "LLMOS_MODEL": "table",
        "OPENAI_API_KEY": "unused",
    }
