"""The second look and the closest tool worth naming: lines on the best tool's similarity."""

from __future__ import annotations

import pytest

from llmos_shell.planning.relevance import (
    CLOSE_MARGIN,
    FEATURES,
    RelevanceModel,
    asks_general_knowledge,
    shipped_model,
)


def model(line: float | None) -> RelevanceModel:
    return RelevanceModel(dict.fromkeys(FEATURES, 0.0), 0.0, 0.8, 0.8, line)


def features(tool: float) -> dict[str, float]:
    return {**dict.fromkeys(FEATURES, 0.0), "tool": tool}


def test_the_second_look_takes_a_close_tool_for_a_request_but_not_for_a_question() -> None:
    m = model(0.4)
    assert m.second_look(features(0.5), "add a line 'call mom' to todo.txt")
    assert not m.second_look(features(0.39), "add a line 'call mom' to todo.txt")
    assert not m.second_look(features(0.9), "what does grep do?")
    assert not model(None).second_look(features(0.9), "add a line to todo.txt")


def test_a_tool_is_named_as_closest_only_near_the_line() -> None:
    m = model(0.4)
    assert m.closest_worth_naming(0.4 - CLOSE_MARGIN)
    assert not m.closest_worth_naming(0.4 - CLOSE_MARGIN - 0.01)
    assert not model(None).closest_worth_naming(0.99)


@pytest.mark.parametrize(
    ("request_text", "knowledge"),
    [
        ("what is a symlink?", True),
        ("explain what a zombie process is", True),
        ("what is in my downloads", False),  # about this machine
        ("what is notes.txt", False),  # names a file
        ("add a line to todo.txt", False),
    ],
)
def test_questions_of_general_knowledge(request_text: str, knowledge: bool) -> None:
    assert asks_general_knowledge(request_text) is knowledge


def test_the_shipped_model_round_trips_with_its_second_look_line() -> None:
    shipped = shipped_model()
    assert shipped is not None and shipped.second_look_above is not None
    assert RelevanceModel.from_json(shipped.to_json()) == shipped
