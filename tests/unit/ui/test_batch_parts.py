"""Batch input parsing, OpenAI tool specs, and lexical retrieval."""

from __future__ import annotations

import io
import json

import pytest

from llmos_shell.errors import LlmosError
from llmos_shell.registry.specs import ToolSpecError, normalize_schema, tools_from_specs
from llmos_shell.retrieval.bm25 import BM25Index, tokens
from llmos_shell.ui.batch import _request_line, _run


def test_request_lines_accept_strings_and_objects() -> None:
    assert _request_line('"list files"', ("tools",)) == ("list files", {})
    assert _request_line('{"request": "x", "cwd": "/tmp"}', ("cwd",)) == ("x", {"cwd": "/tmp"})
    for bad, message in [
        ("", "empty"),
        ("{nope", "not JSON"),
        ("[1, 2]", "JSON string or an object"),
        ('{"cwd": "/"}', 'no "request"'),
        ('{"request": "x", "tool": []}', "unknown field"),
    ]:
        with pytest.raises(ValueError, match=message):
            _request_line(bad, ("tools",))


def test_one_output_line_per_input_line_even_on_errors() -> None:
    def handle(line: str) -> dict[str, object]:
        request, _ = _request_line(line, ())
        if request == "boom":
            raise RuntimeError("kaput")
        if request == "user error":
            raise LlmosError("a clear sentence")
        return {"command": request.upper()}

    out = io.StringIO()
    lines = ['"a"\n', "garbage\n", '"boom"\n', '"user error"\n', "\n", '"b"']
    failures = _run(lines, out, handle, lambda e: {"command": None, "error": e})
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(lines)
    assert rows[0] == {"command": "A"} and rows[-1] == {"command": "B"}
    assert "not JSON" in rows[1]["error"]
    assert rows[2]["error"] == "internal error: RuntimeError: kaput"
    assert rows[3]["error"] == "a clear sentence"
    assert failures == 4


def test_undecodable_bytes_are_the_error_of_their_line_only() -> None:
    lines = [
        b'"first"\n',
        b'"caf\xe9"\n',  # Latin-1, not UTF-8
        b"\xff\xfe\x00garbage\n",
        b'"a lone \\ud800"\n',  # JSON can spell it, no text holds it
        b'{"request": "x", "\\udc80": 1}\n',  # and it is echoed in the error
        '"caf\u00e9"\n'.encode(),
        b'"last"',
    ]
    raw = io.BytesIO()
    # As under PYTHONIOENCODING=utf-8:strict: what cannot be encoded raises.
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")

    def handle(line: str) -> dict[str, object]:
        return {"command": _request_line(line, ())[0]}

    failures = _run(lines, out, handle, lambda e: {"command": None, "error": e})
    out.flush()
    rows = [json.loads(line) for line in raw.getvalue().decode("utf-8").splitlines()]
    assert len(rows) == len(lines) and failures == 4
    assert rows[0] == {"command": "first"} and rows[-1] == {"command": "last"}
    assert rows[1]["error"] == "the line is not UTF-8 text (byte 0xe9 at position 4)"
    assert rows[2]["error"] == "the line is not UTF-8 text (byte 0xff at position 0)"
    assert "half of a UTF-16 surrogate pair" in rows[3]["error"]
    assert rows[4]["error"].startswith("unknown field(s) \udc80")
    assert rows[5] == {"command": "café"}


def test_openai_specs_become_described_only_tools() -> None:
    specs = [
        {
            "type": "function",
            "function": {
                "name": "book_flight",
                "description": "Book a flight.\n  Pays with the card on file.",
                "parameters": {
                    "type": "dict",
                    "properties": {
                        "route": {
                            "type": "dict",
                            "properties": {
                                "from": {"type": "string", "pattern": "^[A-Z]{3}$"},
                                "to": {"type": "string", "maxLength": 3},
                            },
                            "required": ["from", "to", "ghost"],
                        },
                        "passengers": {"type": "array", "items": {"type": "integer"}},
                        "price": {"type": "float", "minimum": 0},
                        "class": {"type": "string", "enum": ["economy", "business"]},
                        "extras": {"type": "object"},
                    },
                    "required": ["route"],
                },
            },
        },
        {"name": "ping", "description": "Check that the service answers."},
    ]
    registry = tools_from_specs(specs)
    flight = registry.get("book_flight")
    assert flight.description == "Book a flight. Pays with the card on file."
    assert not flight.executable
    schema = flight.parameters_schema()
    assert schema["type"] == "object" and schema["required"] == ["route"]
    assert schema["additionalProperties"] is False
    route = schema["properties"]["route"]
    assert route["type"] == "object" and route["required"] == ["from", "to"]
    assert "pattern" not in route["properties"]["from"]
    assert "maxLength" not in route["properties"]["to"]
    assert schema["properties"]["price"] == {"type": "number", "minimum": 0}
    assert schema["properties"]["extras"] == {"type": "object"}  # free-form stays open
    assert registry.get("ping").parameters_schema() == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    with pytest.raises(LlmosError, match="only described"):
        flight.invoke({"route": {"from": "OSL", "to": "CDG"}})


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "non-empty list"),
        ("tools", "non-empty list"),
        ([{"function": {"name": "has space"}}], "no usable name"),
        ([{"name": "a"}, {"name": "a"}], "given twice"),
        ([{"name": "a", "parameters": []}], "parameters must be an object"),
        ([3], "not an object"),
    ],
)
def test_bad_specs_are_one_sentence(specs: object, message: str) -> None:
    with pytest.raises(ToolSpecError, match=message):
        tools_from_specs(specs)  # type: ignore[arg-type]


def test_normalize_schema_keeps_nested_unions() -> None:
    schema = normalize_schema(
        {"anyOf": [{"type": "str"}, {"type": "null"}], "description": "maybe"}
    )
    assert schema == {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "maybe"}


def test_bm25_ranks_the_closest_text_first() -> None:
    texts = [
        "Find all files larger than 10 megabytes",
        "Count the lines in every text file",
        "Show disk usage of each directory",
        "Delete empty directories",
    ]
    index = BM25Index(texts)
    assert index.top("count lines of the text files", 2)[0][0] == 1
    assert index.top("which directories are empty? delete them", 1)[0][0] == 3
    assert index.top("zebra", 3) == []
    assert tokens("The Files in my Directories") == ["file", "directorie"]
