"""The batch interfaces and `suggest` on the real embedded model."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from llmos_shell.app import App
from llmos_shell.config import load_config
from llmos_shell.planning.planner import Transcript
from llmos_shell.planning.suggest import NoCommandError, Suggester
from llmos_shell.registry.specs import tools_from_specs
from llmos_shell.safety.shell import analyse
from llmos_shell.ui.batch import plan_batch, suggest_batch

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


def test_plan_batch_one_line_per_input_and_only_given_tools(app: App) -> None:
    lines = [
        '"how much disk space is free?"',
        json.dumps({"request": "get the weather in Paris in celsius", "tools": [WEATHER]}),
        json.dumps({"request": "weather for Oslo for 3 days", "tools": [WEATHER]}),
        "not json",
        json.dumps({"request": "x", "tools": [{"function": {"name": "bad name"}}]}),
    ]
    out = io.StringIO()
    failures = plan_batch(app, lines, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(lines) and failures == 2
    # llmos's own tools are planned with the memory, and say which memories they used.
    assert set(rows[0]) == {"calls", "answer", "memories"} and rows[0]["memories"] == []
    for row in rows[:3]:
        assert set(row) - {"memories"} == {"calls", "answer"}
        assert (row["answer"] is None) == bool(row["calls"])
    for call in rows[0]["calls"]:
        app.registry.get(call["tool"]).validate(call["arguments"])
    # Only the offered tool can be called: the grammar the model is held to names no other,
    # whatever the model then picks (a call or an answer).
    (weather,) = tools_from_specs([WEATHER])
    planner = app.planner_for([weather])
    for request in ("get the weather in Paris in celsius", "weather for Oslo for 3 days"):
        schema = planner.schema_for(Transcript(request))
        offered = {
            o["properties"]["tool"]["const"] for o in schema["oneOf"] if "tool" in o["properties"]
        }
        assert offered == {"get_weather"}
    for row in rows[1:3]:  # and what the model wrote conforms to the offered tool's schema
        for call in row["calls"]:
            assert call["tool"] == "get_weather"
            weather.validate(call["arguments"])
    assert "not JSON" in rows[3]["error"] and rows[3]["calls"] == []
    assert "no usable name" in rows[4]["error"]


def test_suggest_batch_gives_commands_that_parse(app: App, tmp_path: Any) -> None:
    lines = [
        '"find all python files bigger than 1MB"',
        json.dumps({"request": "count the lines of every txt file", "cwd": str(tmp_path)}),
        '{"request": ""}',
    ]
    out = io.StringIO()
    suggest_batch(app, lines, out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 3
    for row in rows[:2]:
        assert isinstance(row["command"], str) and row["command"]
        assert analyse(row["command"]).parsed_ok
    assert rows[2]["command"] is None and "empty" in rows[2]["error"]


class _Unparsable:
    """A backend stand-in that always writes a command that cannot parse."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def prepare(self, prefix: Any) -> None:
        self.real.prepare(prefix)

    def generate(self, messages: Any, **kwargs: Any) -> Any:
        self.calls += 1
        gen = self.real.generate(messages, **kwargs)
        return type(gen)(
            '{"command": "ls ("}',
            gen.prompt_tokens,
            gen.cached_tokens,
            gen.completion_tokens,
            gen.prompt_s,
            gen.total_s,
        )


def test_a_command_that_does_not_parse_is_regenerated_never_shown(embedded_backend: Any) -> None:
    backend = _Unparsable(embedded_backend)
    with pytest.raises(NoCommandError, match="does not parse"):
        Suggester(backend).suggest("list the files")  # type: ignore[arg-type]
    assert backend.calls == 4


def test_similar_examples_can_leave_one_out(embedded_backend: Any) -> None:
    suggester = Suggester(embedded_backend)
    found = suggester.similar("Find all empty directories")
    assert found and any("empty" in e.request.lower() for e in found)
    exact = found[-1].request
    assert all(e.request != exact for e in suggester.similar(exact, exclude=exact))
