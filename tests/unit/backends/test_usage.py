"""Usage records: written when an app closes, read back, corrupt lines skipped, added up."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from llmos_shell.app import App
from llmos_shell.backends.base import Generation
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.backends.usage import (
    UsageRecord,
    aggregate,
    append_usage,
    live_json,
    live_lines,
    process_memory,
    read_usage,
    totals_lines,
    usage_log,
)
from llmos_shell.config import load_config


def record(
    backend: str = "llama-cpp",
    model: str = "m",
    when: str = "2025-01-02T10:00:00+00:00",
    **counts: float,
) -> UsageRecord:
    values = {
        "requests": 2,
        "prompt_tokens": 300,
        "cached_tokens": 100,
        "completion_tokens": 40,
        "prompt_s": 1.0,
        "total_s": 3.0,
        "load_s": 0.5,
        "peak_rss_bytes": 1000,
        **counts,
    }
    return UsageRecord(time=when, backend=backend, model=model, **values)  # type: ignore[arg-type]


def test_closing_an_app_appends_its_backend_totals(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    backend.stats.record(
        Generation(
            text="x",
            prompt_tokens=50,
            cached_tokens=10,
            completion_tokens=5,
            prompt_s=0.2,
            total_s=0.7,
        )
    )
    app = App(config=load_config())
    app._backend = backend
    app.close()
    app.close()  # a second close has nothing left to record
    records, warnings = read_usage(usage_log(tmp_path / "state"))
    assert warnings == []
    [saved] = records
    assert (saved.backend, saved.model) == ("scripted", "scripted test backend")
    assert (saved.requests, saved.prompt_tokens, saved.cached_tokens, saved.completion_tokens) == (
        1,
        50,
        10,
        5,
    )
    assert saved.peak_rss_bytes is not None and saved.peak_rss_bytes > 0
    dt.datetime.fromisoformat(saved.time)


def test_an_app_that_loaded_nothing_records_nothing(tmp_path: Path) -> None:
    App(config=load_config()).close()
    assert not usage_log(tmp_path / "state").exists()


def test_an_unwritable_log_is_a_warning_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LLMOS_STATE_DIR", str(blocker / "state"))
    backend = ScriptedBackend()
    backend.stats.requests = 1
    app = App(config=load_config())
    app._backend = backend
    app.close()
    assert app.usage_error is not None and "usage.jsonl" in app.usage_error


def test_corrupt_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "usage.jsonl"
    append_usage(path, record())
    with path.open("a") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({**record().to_json(), "requests": -1}) + "\n")
        handle.write(json.dumps({**record().to_json(), "time": "yesterday"}) + "\n")
        handle.write("[1, 2]\n\n")
    append_usage(path, record(requests=3))
    records, warnings = read_usage(path)
    assert [r.requests for r in records] == [2, 3]
    assert [w.split(" line ")[1].split(" ")[0] for w in warnings] == ["2", "3", "4", "5"]
    assert all("skipped" in w for w in warnings)


def test_totals_read_as_lines() -> None:
    [totals] = aggregate([record(), record(requests=1)])
    lines = totals_lines(totals.to_json())
    assert lines[0] == "llama-cpp: m"
    assert lines[1].strip() == "2 sessions, 3 requests"
    assert lines[-1].strip() == "load 1.00 s, peak memory 1 KB"


def test_totals_per_backend_and_model_and_per_day() -> None:
    records = [
        record(when="2025-01-02T10:00:00+00:00"),
        record(when="2025-01-03T10:00:00+00:00", requests=1, peak_rss_bytes=5000),
        record(backend="transformers", model="t", when="2025-01-03T11:00:00+00:00"),
    ]
    totals = aggregate(records)
    assert [(t.backend, t.sessions) for t in totals] == [("transformers", 1), ("llama-cpp", 2)]
    llama = totals[1].to_json()
    assert llama["requests"] == 3 and llama["prompt_tokens"] == 600
    assert llama["prompt_tokens_per_s"] == 200.0  # (600 - 200) evaluated in 2 s
    assert llama["generation_tokens_per_s"] == 20.0  # 80 tokens in 6 - 2 s
    assert llama["peak_rss_bytes"] == 5000
    one_day = dt.datetime.fromisoformat("2025-01-02T10:00:00+00:00").astimezone().date()
    assert [t.sessions for t in aggregate(records, on=one_day)] == [1]


def test_live_stats_say_what_is_loaded_and_the_memory() -> None:
    memory = process_memory()
    assert memory["rss_bytes"] > 0 and memory["peak_rss_bytes"] >= memory["rss_bytes"] // 2
    assert live_lines(live_json(None))[0] == "no model loaded yet"
    backend = ScriptedBackend()
    backend.stats.record(
        Generation(
            text="x",
            prompt_tokens=10,
            cached_tokens=0,
            completion_tokens=4,
            prompt_s=0.5,
            total_s=1.5,
        )
    )
    lines = live_lines(live_json(backend))
    assert lines[0] == "scripted: scripted test backend"
    assert lines[1].strip() == "1 request"
    assert "10 tokens (0 reused) in 0.50 s, 20.0 tok/s" in lines[2]
    assert "4 tokens in 1.00 s, 4.0 tok/s" in lines[3]
    assert lines[-1].startswith("memory in use ")


def test_the_peak_is_never_below_what_is_in_use_now() -> None:
    from llmos_shell.backends.usage import process_memory

    grown = bytearray(64 * 1024 * 1024)  # in use now, and so part of the peak
    memory = process_memory()
    assert grown[-1] == 0
    assert memory["rss_bytes"] >= len(grown)  # psutil is a dependency: always measured
    assert memory["peak_rss_bytes"] >= memory["rss_bytes"]
