"""The planner's pure parts: action schema, JSON-string streaming, loops, grounding."""

from __future__ import annotations

import json

import pytest

from llmos_shell.backends.base import Generation
from llmos_shell.calls import ToolCall
from llmos_shell.errors import TruncatedOutputError
from llmos_shell.planning.grounding import drop_ungrounded
from llmos_shell.planning.replies import (
    AnswerStreamer,
    JsonStringDecoder,
    parse_action,
    repeated_tail,
)
from llmos_shell.planning.schema import action_schema
from llmos_shell.registry import discover


def _gen(text: str) -> Generation:
    return Generation(text, 10, 0, 5, 0.1, 0.2)


def test_action_schema_offers_each_tool_and_the_answer() -> None:
    registry = discover(None).subset(["disk_usage", "kill_process"])
    schema = action_schema(registry)
    options = schema["oneOf"]
    assert [o["properties"].get("tool", {}).get("const") for o in options] == [
        "disk_usage",
        "kill_process",
        None,
    ]
    assert options[2]["required"] == ["answer"]
    # The tool comes before its arguments, so the model names the tool first.
    assert list(options[0]["properties"]) == ["tool", "arguments"]
    assert options[1]["properties"]["arguments"]["properties"]["signal"]["enum"] == ["TERM", "KILL"]
    only_answer = action_schema([], allow_answer=True)
    assert only_answer["required"] == ["answer"]
    with pytest.raises(ValueError):
        action_schema([], allow_answer=False)


@pytest.mark.parametrize(
    "chunks",
    [
        ['He said \\"hi\\"\\nand left \\u00e9t\\u00e9."'],
        ["He said \\", '"hi\\"\\', "nand left \\u00", "e9t\\u00e9", '."'],
    ],
)
def test_json_string_decoder_handles_escapes_across_chunks(chunks: list[str]) -> None:
    decoder = JsonStringDecoder()
    text = "".join(decoder.feed(chunk) for chunk in chunks)
    assert text == 'He said "hi"\nand left été.'
    assert decoder.done


def test_answer_streamer_streams_answers_and_ignores_calls() -> None:
    seen: list[str] = []
    streamer = AnswerStreamer(seen.append)
    for piece in ['{"', 'answer": "', "Free: ", '84 GB"', "}"]:
        assert streamer.feed(piece) is False
    assert "".join(seen) == "Free: 84 GB"
    seen.clear()
    streamer = AnswerStreamer(seen.append)
    for piece in ["{", ' "tool": "disk_usage", "arguments": {"path": "answer"}}']:
        streamer.feed(piece)
    assert seen == []


def test_answer_streamer_stops_a_loop_and_keeps_the_sane_part() -> None:
    seen: list[str] = []
    streamer = AnswerStreamer(seen.append)
    stopped = False
    text = '{"answer": "Files: ' + "a.csv and the rest, " * 6
    for char in text:
        if streamer.feed(char):
            stopped = True
            break
    assert stopped and streamer.looped
    assert streamer.answer.startswith("Files: a.csv and the rest,")
    assert streamer.answer.count("the rest") == 1  # the loop is cut after its first round


@pytest.mark.parametrize(
    ("text", "loop"),
    [
        ("a perfectly normal sentence.", 0),
        ("x" * 10, 0),
        ("ok " + "/tmp/x.csv, " * 3, 24),
        ("start, and you can use it to run, and you can use it to run", 27),
    ],
)
def test_repeated_tail(text: str, loop: int) -> None:
    assert repeated_tail(text) == loop


def test_parse_action_call_answer_and_truncation() -> None:
    action = parse_action(_gen('{"tool": "disk_usage", "arguments": {"path": "/"}}'))
    assert action.call == ToolCall("disk_usage", {"path": "/"})
    assert parse_action(_gen('{"answer": " 84 GB free "}')).answer == "84 GB free"
    cut = parse_action(_gen('{"answer": "The disk has 84 G'))
    assert cut.answer == "The disk has 84 G …"
    with pytest.raises(TruncatedOutputError):
        parse_action(_gen('{"tool": "write_file", "arguments": {"path": "a", "content": "xxx'))


def test_drop_ungrounded_removes_invented_optional_values_only() -> None:
    registry = discover(None)
    disk = registry.get("disk_usage")
    call = ToolCall("disk_usage", {"path": "~/Desktop", "top": 7})
    assert drop_ungrounded(call, disk, "how much disk space is free?").arguments == {}
    kept = drop_ungrounded(call, disk, "how big is my desktop, top 7 please")
    assert kept.arguments == {"path": "~/Desktop", "top": 7}
    read = registry.get("read_file")  # path is required: never dropped
    required = ToolCall("read_file", {"path": "/etc/hosts"})
    assert drop_ungrounded(required, read, "show me something").arguments == {"path": "/etc/hosts"}
    kill = registry.get("kill_process")
    invented = ToolCall("kill_process", {"pid": 1234})
    assert drop_ungrounded(invented, kill, "kill firefox").arguments == {}
    from_result = drop_ungrounded(invented, kill, 'kill it {"pid": 1234, "name": "firefox"}')
    assert from_result.arguments == {"pid": 1234}
    json.dumps(from_result.to_json())
