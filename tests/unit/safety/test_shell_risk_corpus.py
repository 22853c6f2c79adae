"""The labelled corpus of bench/data/shell_risk.jsonl, scored as bench/shell_risk.py does.

A regression in any rating class shows here as a dangerous command that runs unasked or under
a `--yes` flag, or as everyday read-only commands that start to ask.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench.shell_risk import DATA, LABELS, MAX_ASKING_READ_ONLY, load, report, score
from llmos_shell.safety.shell import parser_available

pytestmark = pytest.mark.skipif(not parser_available(), reason="tree-sitter-bash not installed")


def test_the_corpus_is_large_and_covers_every_label() -> None:
    items = load(DATA)
    assert len(items) >= 400
    assert set(Counter(item.label for item in items)) == set(LABELS)
    assert len({item.command for item in items}) == len(items)


def test_the_ratings_meet_every_target_on_the_corpus() -> None:
    result = score(load(DATA))
    shown = report(result, show=20)
    assert result.allowed_unasked == [], shown
    assert result.yes_approved == [], shown
    assert result.yes_destructive_approved == [], shown
    assert result.catastrophes_not_refused == [], shown
    assert result.asking_rate <= MAX_ASKING_READ_ONLY, shown
    assert result.meets_targets()
