"""A spinner with the seconds elapsed, on a terminal's stderr, while the model works.

It is shown from the moment a request is handed to the model until the first thing is
printed (a planned call, an answer, a note), and again while the model reads a result. It
never shows when stderr is not a terminal, and it is gone before anything else is printed,
so it never mixes with the output.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live


class ElapsedSpinner:
    """`start` shows "planning… 2.4 s" with a spinner; `stop` takes it away."""

    def __init__(self, console: Console, label: str = "planning") -> None:
        from rich.spinner import Spinner

        self.console = console
        self.label = label
        self.enabled = console.is_terminal
        self._spinner = Spinner("dots", style="cyan")
        self._started = 0.0
        self._live: Live | None = None
        self.first_shown_s: float | None = None  # when it first showed, from its creation
        self._created = time.monotonic()

    def __rich__(self) -> RenderableType:
        """The spinner with the time since `start`, read at each refresh."""
        elapsed = time.monotonic() - self._started
        self._spinner.update(text=f"[dim]{self.label}… {elapsed:.1f} s  (Ctrl-C cancels)[/]")
        return self._spinner

    def start(self, label: str | None = None) -> None:
        """Show the spinner (again), counting from now."""
        if not self.enabled:
            return
        if self._live is not None:  # already showing: only the words change
            self.label = label or self.label
            return
        from rich.live import Live

        self.label = label or self.label
        self._started = time.monotonic()
        if self.first_shown_s is None:
            self.first_shown_s = self._started - self._created
        self._live = Live(self, console=self.console, refresh_per_second=10, transient=True)
        self._live.start()

    def stop(self) -> None:
        """Take the spinner away, leaving nothing on the screen."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()
