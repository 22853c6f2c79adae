"""A few hundred fuzzed calls of every built-in tool through validate + execute.

The same strategies and playground (`bench/fuzz_cases.py`) as `bench/fuzz_tools.py`, which
runs 10,000+: arbitrary JSON-ish arguments, odd paths, FIFOs, huge sizes and counts,
catastrophic regexes. Every call must come back as data: no "failed unexpectedly", no call
past its time limit, nothing left running. Derandomized, so a run is the same run every time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fuzz_cases import Playground
from bench.fuzz_tools import fuzz
from llmos_shell.registry import discover

CASES = 300
TIME_LIMIT_S = 5.0  # per call; generous for a loaded 2-core machine


def test_fuzzed_tool_calls_never_crash_or_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = (tmp_path / "fuzz").resolve()
    root.mkdir()
    playground = Playground(root)
    for key, value in playground.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)
    try:
        report = fuzz(
            discover(None),
            playground,
            cases=CASES,
            time_limit_s=TIME_LIMIT_S,
            derandomize=True,
            deadline_s=TIME_LIMIT_S + 5,
        )
    finally:
        playground.close()
        monkeypatch.chdir(tmp_path)
    assert report.cases >= CASES * 0.9
    assert len(report.by_tool) >= 14, report.by_tool  # nearly every tool was called
    assert report.unhandled_count == 0, report.unhandled
    assert report.hang_count == 0, report.hangs
