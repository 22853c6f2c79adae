"""Arguments held to what the request states: spans, stated numbers, bounded free text."""

from __future__ import annotations

from typing import Any

from llmos_shell.planning.evidence import Evidence
from llmos_shell.planning.schema import action_schema, call_chars, grounded_parameters
from llmos_shell.registry import discover
from llmos_shell.registry.specs import tools_from_specs

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_forecast",
        "description": "Weather forecast for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1, "maximum": 14},
                "units": {"type": "string", "enum": ["metric", "imperial"]},
                "note": {"type": "string", "description": "the text of a note to attach"},
            },
            "required": ["city"],
        },
    },
}


def _props(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]


def test_names_are_spans_of_the_request_and_numbers_are_stated_ones() -> None:
    [tool] = list(tools_from_specs([WEATHER]))
    schema = grounded_parameters(tool, Evidence("forecast for San Francisco for 5 days"))
    props = _props(schema)
    assert "San Francisco" in props["city"]["enum"]
    assert "forecast for San Francisco for 5 days" in props["city"]["enum"]
    assert props["days"]["enum"] == [5]
    assert props["units"]["enum"] == ["metric", "imperial"]  # enums stay as the schema says
    assert props["note"]["maxLength"] <= 2000  # written text: free but bounded
    assert schema["required"] == ["city"]


def test_optional_values_the_request_does_not_state_are_not_offered() -> None:
    [tool] = list(tools_from_specs([WEATHER]))
    props = _props(grounded_parameters(tool, Evidence("what's the weather in Oslo")))
    assert "days" not in props  # no number stated: the tool's default applies
    assert props["days" if "days" in props else "city"]


def test_numbers_outside_the_schema_bounds_are_not_offered() -> None:
    [tool] = list(tools_from_specs([WEATHER]))
    props = _props(grounded_parameters(tool, Evidence("weather in Rome for 30 days or 3")))
    assert props["days"]["enum"] == [3]


def test_built_in_paths_sizes_and_counts_come_from_the_request() -> None:
    find = discover(None).get("find_files")
    props = _props(grounded_parameters(find, Evidence("pdfs bigger than 10 megs in downloads")))
    assert props["path"]["enum"][0] == "~/Downloads"  # the folder named, then short spans
    assert props["min_size"]["enum"] == ["10MB"]
    assert props["name"]["enum"] == ["*.pdf"]
    assert "limit" not in props and "modified_within" not in props


def test_values_from_earlier_results_are_offered() -> None:
    kill = discover(None).get("kill_process")
    listing = {"processes": [{"pid": 4321, "name": "sleep"}]}
    props = _props(grounded_parameters(kill, Evidence("kill it", results=(listing,))))
    assert props["pid"]["enum"] == [4321]
    assert "sleep" in props["name"]["enum"]


def test_a_grounded_call_has_a_small_bound() -> None:
    registry = discover(None)
    evidence = Evidence("list the files in /tmp")
    schema = action_schema(
        [registry.get("list_directory")],
        allow_answer=False,
        parameters=lambda item: grounded_parameters(item, evidence),
    )
    assert call_chars(schema) < 300
