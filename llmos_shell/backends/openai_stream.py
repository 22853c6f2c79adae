"""Reading a streamed chat completion from the openai SDK: content and tool calls, cancellable.

The SDK blocks in a socket read while the server evaluates the prompt, and a signal does not
end that read. So the stream is read in a daemon thread of its own, and the caller's thread
waits on a queue, looking at `cancel` every _POLL_S: cancelling returns at once, and the
reader stops at its next chunk, closing the connection so that the server stops generating.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmos_shell.errors import Cancelled

if TYPE_CHECKING:
    import openai

_POLL_S = 0.05


@dataclass
class Reply:
    """What one streamed request brought back."""

    started: float
    pieces: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    stopped: bool = False  # on_text asked to stop: the reply was cut short on purpose
    usage: dict[str, Any] | None = None
    first_piece_at: float | None = None
    ended: float = 0.0


class _End:
    """Put on the queue after the last piece of a reply."""


_Arrival = str | BaseException | type[_End]


def stream_reply(
    client: openai.OpenAI,
    request: dict[str, Any],
    on_text: Callable[[str], bool | None] | None,
    cancel: threading.Event | None,
) -> Reply:
    """Send a streaming chat request and read its reply; the SDK's errors are raised as they are.

    `on_text` gets each piece in this thread and may return True to stop there; `cancel`
    set raises Cancelled within _POLL_S, whatever the server is doing.
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    reply = Reply(started=time.perf_counter())
    arrived: queue.Queue[_Arrival] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(
        target=_receive, args=(client, request, reply, arrived, stop), daemon=True
    )
    reader.start()
    try:
        while True:
            try:
                item = arrived.get(timeout=_POLL_S)
            except queue.Empty:
                if cancel is not None and cancel.is_set():
                    raise Cancelled() from None
                continue
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if item is _End:
                break
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str)
            if reply.first_piece_at is None:
                reply.first_piece_at = time.perf_counter()
            reply.pieces.append(item)
            if on_text is not None and on_text(item):
                reply.stopped = True
                break
    finally:
        stop.set()
    reply.ended = time.perf_counter()
    return reply


def _receive(
    client: openai.OpenAI,
    request: dict[str, Any],
    reply: Reply,
    arrived: queue.Queue[_Arrival],
    stop: threading.Event,
) -> None:
    """Send the request and put each piece of text on `arrived`, then _End or the error."""
    try:
        stream = client.chat.completions.create(**request)
        with stream:
            if "event-stream" in stream.response.headers.get("content-type", ""):
                chunks: Iterator[dict[str, Any]] = (chunk.to_dict() for chunk in stream)
            else:
                chunks = _whole_reply(json.loads(stream.response.read()))
            reading = _Pieces(reply)
            for chunk in chunks:
                for piece in reading.take(chunk):
                    arrived.put(piece)
                if stop.is_set():
                    return  # leaving the block closes the connection
            for piece in reading.finish():
                arrived.put(piece)
        arrived.put(_End)
    except BaseException as exc:  # handed to the caller's thread, which raises it
        arrived.put(exc)


def _whole_reply(whole: Any) -> Iterator[dict[str, Any]]:
    """A server that ignores `stream` answers with the whole completion: read it as a chunk."""
    if isinstance(whole, dict):
        for choice in whole.get("choices") or []:
            if isinstance(choice, dict):
                choice["delta"] = choice.get("message") or {}
        yield whole


class _Pieces:
    """Turns streamed chunks into pieces of the reply's text, content or tool call alike.

    A tool call comes as its name, then its arguments in fragments of JSON text (vLLM, and
    llama.cpp's server); it is written as the action JSON the planner reads from content:
    {"tool": NAME, "arguments": ARGUMENTS}. Only the first call counts: the planner takes
    one step at a time.
    """

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.in_call = False
        self.arguments = False

    def take(self, chunk: dict[str, Any]) -> Iterator[str]:
        """The new pieces of text in one chunk; usage and the finish reason go on the reply."""
        reply = self.reply
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            reply.usage = {**(reply.usage or {}), **usage}
        timings = chunk.get("timings")
        if isinstance(timings, dict) and "cache_n" in timings:
            # llama.cpp's server counts the prompt tokens it reused only here.
            reply.usage = {**(reply.usage or {}), "cache_n": timings["cache_n"]}
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            if choice.get("finish_reason"):
                reply.finish_reason = str(choice["finish_reason"])
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            content = delta.get("content")
            # Servers that call a tool may still send blank content beside it.
            if isinstance(content, str) and content and not (self.in_call and content.isspace()):
                yield content
            for call in delta.get("tool_calls") or []:
                yield from self._call_piece(call)

    def _call_piece(self, call: Any) -> Iterator[str]:
        if not isinstance(call, dict) or call.get("index", 0) != 0:
            return
        function = call.get("function")
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if not self.in_call and isinstance(name, str) and name:
            self.in_call = True
            yield '{"tool": ' + json.dumps(name, ensure_ascii=False) + ', "arguments": '
        fragment = function.get("arguments")
        if self.in_call and isinstance(fragment, str) and fragment:
            self.arguments = True
            yield fragment

    def finish(self) -> Iterator[str]:
        """What closes a tool call once the stream has ended."""
        if self.in_call:
            yield "}" if self.arguments else "{}}"
