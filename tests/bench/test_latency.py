"""Tests for the pure parts of the latency benchmark (bench/latency.py); nothing is timed."""

from __future__ import annotations

import random

import pytest

from bench.latency import (
    BackendReport,
    RequestTiming,
    fit_prompt,
    median,
    parse_backends,
    parse_perf,
    ratio,
    render_table,
    strip_ansi,
)

# llama.cpp's report after one completion, as llama-cpp-python's server prints it.
PERF = """\
Llama.generate: 1204 prefix-match hit, remaining 37 prompt tokens to eval
llama_perf_context_print:        load time =       0.28 ms
llama_perf_context_print: prompt eval time =     210.03 ms /    37 tokens (    5.68 ms per token)
llama_perf_context_print:        eval time =     125.12 ms /    14 runs   (    8.94 ms per token)
llama_perf_context_print:       total time =     397.73 ms /    51 tokens
""".splitlines()


def test_median_and_ratio_skip_what_was_not_measured() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 1.0) is None


def test_parse_backends_keeps_order_and_refuses_unknown_names() -> None:
    assert parse_backends("openai, llama-cpp,openai") == ["openai", "llama-cpp"]
    with pytest.raises(ValueError, match="unknown backend 'vllm'"):
        parse_backends("llama-cpp,vllm")
    with pytest.raises(ValueError, match="no backend"):
        parse_backends(" , ")


def test_parse_perf_reads_the_last_report() -> None:
    assert parse_perf(PERF) == (37, 14)
    second = [line.replace("/    37 tokens", "/     5 tokens") for line in PERF]
    assert parse_perf([*PERF, *second]) == (5, 14)
    assert parse_perf(["INFO: 127.0.0.1 - POST /v1/completions 200"]) == (None, None)


def test_fit_prompt_reaches_the_target_when_some_words_take_two_tokens() -> None:
    def tokens(text: str) -> int:
        # One token a word, two for words of seven letters or more.
        return sum(2 if len(word) >= 7 else 1 for word in text.split())

    text, got = fit_prompt(tokens, 40, random.Random(0))
    assert got == 40
    assert tokens(text) == 40


def test_fit_prompt_returns_the_closest_when_the_target_cannot_be_met() -> None:
    def tokens(text: str) -> int:
        return 2 * len(text.split())  # every word two tokens: odd targets are out of reach

    _, got = fit_prompt(tokens, 11, random.Random(1))
    assert abs(got - 11) == 1


def test_strip_ansi_leaves_the_prompt_text() -> None:
    raw = b"\x1b[?25l\x1b[0m\x1b[1mllmos\x1b[0m> \x1b[?12l\x1b[?25h\x1b[6n"
    assert strip_ansi(raw) == b"llmos> "


def test_render_table_aligns_columns() -> None:
    table = render_table(["name", "s"], [["a", "1.00"], ["longer", "12.50"]], indent="")
    assert table.splitlines() == ["name        s", "a        1.00", "longer  12.50"]


def test_backend_report_derives_medians_and_the_ratio() -> None:
    report = BackendReport(
        "llama-cpp",
        planner_ready_s=2.0,
        cold_plan_s=1.0,
        requests=[
            RequestTiming("a", plan_s=1.0, floor_s=0.5),
            RequestTiming("b", plan_s=3.0, floor_s=1.5),
            RequestTiming("c", error="TruncatedOutputError: cut off"),
        ],
    )
    assert report.cold_s == 3.0
    assert report.warm_median_s == 2.0
    assert report.floor_median_s == 1.0
    assert report.warm_ratio == 2.0
    data = report.to_json()
    assert data["warm_ratio"] == 2.0
    assert [r["ratio"] for r in data["requests"]] == [2.0, 2.0, None]
