"""Ctrl-C while a request runs: the first press cancels it, a second one interrupts."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def cancel_on_sigint() -> Iterator[threading.Event]:
    """An event that the first Ctrl-C sets; the model and the executor stop when it is set.

    The request then ends as cancelled, with the prompt back and nothing half-written. A
    second Ctrl-C raises KeyboardInterrupt as usual, for a tool that does not stop. Outside
    the main thread (where signals cannot be caught) the event is only set by others.
    """
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
