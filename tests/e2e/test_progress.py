"""While the model works, a terminal shows a spinner with the time; Ctrl-C stops the request.

`llmos` runs in a pseudo-terminal, as a person runs it, against the loopback model server
(tests/e2e/model_server.py) made slow on purpose.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmos_shell.errors import ExitStatus
from tests.e2e.model_server import ModelServer, environment, model_server
from tests.e2e.test_shell_hotkey import Terminal


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with model_server() as running:
        yield running


def llmos_in_terminal(server: ModelServer, tmp_path: Path, *words: str) -> Terminal:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100", **environment(server)}
    return Terminal([sys.executable, "-m", "llmos_shell", *words], env, tmp_path)


def test_a_spinner_counts_the_seconds_then_gives_way_to_the_answer(
    server: ModelServer, tmp_path: Path
) -> None:
    server.replies = {"hello": {"answer": "Hello there!"}}
    server.delay_s = 2.5
    terminal = llmos_in_terminal(server, tmp_path, "hello")
    try:
        terminal.read_until(r"planning… \d+\.\d s", 60)
        terminal.read_until(r"Hello there!", 60)
        assert terminal.wait(30) == 0
        times = [float(t) for t in re.findall(r"… (\d+\.\d) s", terminal.shown)]
        assert times == sorted(times) and times[-1] >= 2.0  # it counted while the model worked
        assert terminal.shown.rstrip().endswith("Hello there!")  # and was gone before it
    finally:
        terminal.close()


def test_ctrl_c_while_the_model_works_ends_the_request_at_once(
    server: ModelServer, tmp_path: Path
) -> None:
    server.replies = {"hello": {"answer": "too late"}}
    server.delay_s = 60
    terminal = llmos_in_terminal(server, tmp_path, "hello")
    try:
        terminal.read_until(r"planning… \d+\.\d s", 60)
        terminal.type("\x03")  # Ctrl-C
        assert terminal.wait(15) == ExitStatus.INTERRUPTED
        assert "too late" not in terminal.shown
    finally:
        terminal.close()
