"""Reading a streamed chat completion: server-sent events, and closing on cancel."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any


def close_on_cancel(
    cancel: threading.Event, done: threading.Event, conn: http.client.HTTPConnection
) -> None:
    """Shut the connection's socket once `cancel` is set, unless the request is `done`."""
    while not done.is_set():
        if cancel.wait(0.05):
            while not done.is_set():
                sock = conn.sock
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    return
                time.sleep(0.02)  # still connecting
            return


def read_events(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a reply: server-sent events until `[DONE]`, or one JSON body."""
    if "event-stream" not in (response.getheader("Content-Type") or ""):
        # A server that ignores `stream` answers with the whole completion at once.
        whole = json.loads(response.read())
        if isinstance(whole, dict):
            for choice in whole.get("choices") or []:
                if isinstance(choice, dict):
                    choice["delta"] = choice.get("message") or {}
            yield whole
        return
    data: list[str] = []
    while True:
        raw = response.readline()
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line:
            continue  # a comment (keep-alive) or a field this client has no use for
        # A blank line (or the end of the stream) ends an event.
        if data:
            payload = "\n".join(data)
            data = []
            if payload.strip() == "[DONE]":
                return
            parsed = json.loads(payload)
            if isinstance(parsed, dict):
                yield parsed
        if not raw:
            return
