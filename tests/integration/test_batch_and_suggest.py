"""The batch interfaces and `suggest` on the real embedded model."""

from __future__ import annotations

from typing import Any

import pytest

from llmos_shell.app import App
from llmos_shell.config import load_config
from llmos_shell.suggest import Suggester

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "where": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                },
            },
            "required": ["city"],
        },
    },
}


@pytest.fixture
def app(embedded_backend: Any) -> App:
    app = App(config=load_config())
    app._backend = embedded_backend  # the model loaded once for the whole test run
    return app


def test_similar_examples_can_leave_one_out(embedded_backend: Any) -> None:
    suggester = Suggester(embedded_backend)
    found = suggester.similar("Find all empty directories")
    assert found and any("empty" in e.request.lower() for e in found)
    exact = found[-1].request
    assert all(e.request != exact for e in suggester.similar(exact, exclude=exact))
