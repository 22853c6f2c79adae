"""Waiting in tests for something another thread or process does: a file, a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest


def appears(path: Path, timeout_s: float = 20.0) -> bool:
    """Whether `path` exists within `timeout_s` (checked every 10 ms)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.01)
    return False


def wait_until(
    check: Callable[[], bool], what: str, timeout_s: float, every_s: float = 0.05
) -> None:
    """Return once `check()` is true; fail the test, naming `what`, after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every_s)
    pytest.fail(f"waited {timeout_s:g} s for {what}")
