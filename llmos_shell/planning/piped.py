"""Text piped into a request (`cat app.log | llmos "what went wrong?"`), bounded for the model.

The input is read once, in pieces, keeping only its head and its tail, so a huge input costs
no more memory than a small one. What reaches the model is the head, a line saying how much
was cut, and the tail; binary input is one sentence. The planner quotes it as data, and the
values in it (a path in a log line, a name in a listing) may fill a call's arguments.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

MAX_CHARS = 2400  # of the text shown to the model: the embedded model has a 4k context
HEAD_SHARE = 0.6  # of MAX_CHARS kept from the head; the rest from the tail
MAX_READ_BYTES = 256 * 1024 * 1024  # reading stops here (`yes | llmos ...` ends)
_CHUNK = 64 * 1024
_SAMPLE_BYTES = 8192  # looked at to tell binary from text


@dataclass(frozen=True)
class PipedText:
    """The piped input as the model sees it: bounded text, or a sentence for binary data."""

    text: str  # the head, a cut line where text was left out, the tail
    total_bytes: int
    total_lines: int
    cut_lines: int = 0
    binary: bool = False

    @property
    def lines(self) -> list[str]:
        """The shown lines that hold something (each a value a call may take)."""
        if self.binary:
            return []
        return [line.strip() for line in self.text.splitlines() if line.strip()]


def read_piped(stream: IO[bytes], limit: int = MAX_READ_BYTES) -> PipedText:
    """Read `stream` to its end (or `limit` bytes), keeping its head and its tail."""
    head = bytearray()
    tail: deque[bytes] = deque()
    tail_bytes = 0
    total = 0
    lines = 0
    last = b""
    keep = MAX_CHARS * 4  # bytes enough for MAX_CHARS characters in any UTF-8 text
    while total < limit:
        chunk = stream.read(min(_CHUNK, limit - total))
        if not chunk:
            break
        total += len(chunk)
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        room = keep - len(head)
        if room > 0:
            head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            tail.append(chunk)
            tail_bytes += len(chunk)
            while tail and tail_bytes - len(tail[0]) >= keep:
                tail_bytes -= len(tail.popleft())
    if total and last != b"\n":
        lines += 1  # a last line without its newline is still a line
    rest = b"".join(tail)[-keep:] if tail else b""
    return bounded(bytes(head), rest, total_bytes=total, total_lines=lines)


def from_text(text: str) -> PipedText:
    """Piped input given as a string (tests, the batch mode)."""
    data = text.encode("utf-8")
    keep = MAX_CHARS * 4
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return bounded(data[:keep], data[keep:][-keep:], total_bytes=len(data), total_lines=lines)


def bounded(head: bytes, tail: bytes, *, total_bytes: int, total_lines: int) -> PipedText:
    """The head and tail bytes of an input made into the text the model is shown."""
    if _looks_binary(head[:_SAMPLE_BYTES]):
        sentence = (
            f"The piped input is binary data ({human_size(total_bytes)}), not text, "
            "so its contents are not shown."
        )
        return PipedText(sentence, total_bytes, total_lines, binary=True)
    whole = not tail
    text = (head + tail).decode("utf-8", errors="replace") if whole else ""
    if whole and len(text) <= MAX_CHARS:
        return PipedText(text.rstrip("\n"), total_bytes, total_lines)
    if whole:  # short in bytes, long in characters: cut from the one text
        first, last = _lines(text), []
    else:  # the tail starts inside a line: that part of a line is left out
        first, last = (
            _lines(head.decode("utf-8", errors="replace")),
            _lines(tail.decode("utf-8", errors="replace"))[1:],
        )
    kept_head = _fit(first, int(MAX_CHARS * HEAD_SHARE))
    room = MAX_CHARS - sum(len(x) + 1 for x in kept_head)
    rest = first[len(kept_head) :] if whole else last
    kept_tail = _fit(reversed(rest), room)[::-1]
    shown = len(kept_head) + len(kept_tail)
    cut = max(total_lines - shown, 0)
    cut_bytes = total_bytes - sum(len(x.encode("utf-8")) + 1 for x in (*kept_head, *kept_tail))
    marker = f"[... {cut} lines ({human_size(max(cut_bytes, 0))}) cut here ...]"
    return PipedText(
        "\n".join([*kept_head, marker, *kept_tail]), total_bytes, total_lines, cut_lines=cut
    )


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def _fit(lines: Iterable[str], budget: int) -> list[str]:
    """Whole lines, in order, while they fit in `budget` characters (a long one is cut)."""
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            if not out:  # one line longer than the budget: its start stands in
                out.append(line[: max(budget - 1, 0)])
            break
        out.append(line)
        used += len(line) + 1
    return out


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, or bytes that are not UTF-8 text, in the start of the input."""
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(sample) - 4  # a character cut at the sample's end is text
    return False


def human_size(size: int) -> str:
    """Bytes as a person reads them: 512 B, 12.3 KB, 4.0 MB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
