"""The real embedded model on llama.cpp: valid calls, multi-step runs, prefix reuse.

These check that the real path works (every output conforms to the schema, results flow
back to the model, the static prompt is reused); they make no accuracy claim.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.backends.llama_cpp import LlamaCppBackend
from llmos_shell.models.locate import embedded_model_path
from llmos_shell.planning.planner import Planner, Transcript
from llmos_shell.planning.schema import call_chars
from llmos_shell.planning.shortlist import Selection
from llmos_shell.registry import Registry, discover
from llmos_shell.session import Session, Status

REQUESTS = [
    "how much disk space is free?",
    "which processes eat my memory?",
    "list the files in /tmp",
    "find pdf files bigger than 10 MB in my home",
    "show the last 20 lines of /var/log/syslog",
    "delete old.log",
    "what's my ip address",
    "kill firefox",
    "hello there",
    "asdfgh qwerty !!!",
]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover(None)


@pytest.fixture(scope="module")
def planner(embedded_backend: Any, registry: Registry) -> Planner:
    planner = Planner(embedded_backend, registry)
    planner.warm_up()
    return planner


@pytest.mark.parametrize("request_text", REQUESTS)
def test_every_action_conforms_to_the_schema(
    planner: Planner, registry: Registry, request_text: str
) -> None:
    action = planner.next_action(Transcript(request_text))
    assert (action.call is None) != (action.answer is None)
    assert action.generation is not None
    if action.call is not None:
        tool = registry.get(action.call.tool)  # raises if the model named an unknown tool
        tool.validate(action.call.arguments)  # raises if the arguments do not fit
        # A call is exactly one JSON object (answers may be cut short when they loop).
        assert json.loads(action.generation.text)["tool"] == action.call.tool
    else:
        assert isinstance(action.answer, str)
        assert action.generation.text.lstrip().startswith('{"answer"')


def test_a_single_tool_schema_forces_that_tool(embedded_backend: Any, registry: Registry) -> None:
    """Whatever path the model takes, the grammar lets the call end within its token limit.

    The request names no place, size or count, so those arguments are not offered; the
    others can only be spans of the request or the schema's enum values.
    """
    tool = registry.get("find_files")
    planner = Planner(embedded_backend, registry)
    transcript = Transcript("good morning! how are you today?")
    transcript.selection = Selection((tool,), (), allow_answer=False)
    schema = planner.schema_for(transcript)
    assert '"answer"' not in json.dumps(schema)
    assert call_chars(schema) < 400  # bounded: spans of a 32-character request
    action = planner.next_action(transcript)
    assert action.call is not None and action.call.tool == "find_files"
    tool.validate(action.call.arguments)
    assert action.generation is not None
    assert json.loads(action.generation.text)["tool"] == "find_files"  # it ended on its own


def test_static_prefix_is_reused_across_requests(planner: Planner, embedded_backend: Any) -> None:
    prefix_tokens = embedded_backend.count_tokens(planner.prefix)
    planner.next_action(Transcript("list the files in /tmp"))
    second = planner.next_action(Transcript("which processes eat my memory?"))
    assert second.generation is not None
    assert second.generation.cached_tokens >= prefix_tokens - 2
    own = second.generation.prompt_tokens - second.generation.cached_tokens
    assert own < 40  # only the request's own tokens were evaluated


def test_multi_step_request_reaches_an_answer_through_an_observation(
    embedded_backend: Any, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.txt").write_text("quarterly numbers\n")
    monkeypatch.chdir(tmp_path)
    session = Session(Planner(embedded_backend, registry), registry, max_steps=3)
    outcome = session.run("list the files in /tmp")
    assert outcome.status is Status.ANSWERED
    assert outcome.steps, "no tool was called for a plain listing request"
    first = outcome.steps[0]
    assert first.decision.verdict.value == "allow"  # read-only: ran without asking
    assert first.result is not None and first.result.ok
    assert first.result.data["entries"], "the listing came back empty"
    # The result went back to the model, which answered from it.
    assert outcome.answer and outcome.answer.strip()


def test_streamed_answer_text_matches_the_answer(planner: Planner) -> None:
    pieces: list[str] = []
    action = planner.next_action(
        Transcript("hello there"), final=True, on_answer_text=pieces.append
    )
    assert action.answer is not None
    assert pieces, "nothing was streamed"
    assert "".join(pieces).strip() == action.answer.rstrip(" …").strip()


def test_prefix_cache_on_disk_gives_the_same_plans(registry: Registry, tmp_path: Path) -> None:
    cache = tmp_path / "kv"
    first = LlamaCppBackend(embedded_model_path(), threads=2, cache_dir=cache)
    try:
        planner = Planner(first, registry)
        planner.warm_up()
        assert "prefix_from_cache" not in first.stats.extra
        assert len(list(cache.glob("prefix-*.kv"))) == 1
        expected = planner.next_action(Transcript("list the files in /tmp")).generation
    finally:
        first.close()
    second = LlamaCppBackend(embedded_model_path(), threads=2, cache_dir=cache)
    try:
        planner = Planner(second, registry)
        planner.warm_up()
        assert second.stats.extra.get("prefix_from_cache") is True
        got = planner.next_action(Transcript("list the files in /tmp")).generation
    finally:
        second.close()
    assert expected is not None and got is not None
    assert got.text == expected.text
    assert got.cached_tokens == expected.cached_tokens


def test_corrupt_prefix_cache_file_is_replaced(registry: Registry, tmp_path: Path) -> None:
    cache = tmp_path / "kv"
    backend = LlamaCppBackend(embedded_model_path(), threads=2, cache_dir=cache)
    try:
        Planner(backend, registry).warm_up()
        (path,) = cache.glob("prefix-*.kv")
        path.write_bytes(b"LLMOSKV1garbage")
    finally:
        backend.close()
    backend = LlamaCppBackend(embedded_model_path(), threads=2, cache_dir=cache)
    try:
        planner = Planner(backend, registry)
        planner.warm_up()
        assert "prefix_from_cache" not in backend.stats.extra
        action = planner.next_action(Transcript("list the files in /tmp"))
        assert action.call is not None or action.answer is not None
        assert path.read_bytes().startswith(b"LLMOSKV1") and path.stat().st_size > 1000
    finally:
        backend.close()


@pytest.fixture(scope="module")
def shortlist_planner(embedded_backend: Any, registry: Registry, tmp_path_factory: Any) -> Planner:
    """The planner as llmos wires it: tool shortlist and closest examples per request."""
    from llmos_shell.planning.shortlist import default_shortlist

    shortlist = default_shortlist(registry, cache_dir=tmp_path_factory.mktemp("cache"))
    planner = Planner(embedded_backend, registry, shortlist=shortlist, static_examples=False)
    planner.warm_up()
    return planner


@pytest.mark.parametrize(
    ("request_text", "tool", "arguments"),
    [
        ("how much disk space is free?", "disk_usage", {}),
        (
            "find pdf files bigger than 10 megs in my downloads",
            "find_files",
            {"path": "~/Downloads", "min_size": "10MB"},
        ),
        ("kill firefox", "kill_process", {"name": "firefox"}),
        ("tell me a joke", None, {}),
    ],
)
def test_the_shortlist_planner_plans_the_expected_step(
    shortlist_planner: Planner, request_text: str, tool: str | None, arguments: dict[str, Any]
) -> None:
    action = shortlist_planner.next_action(Transcript(request_text))
    if tool is None:
        assert action.call is None and action.answer
        return
    assert action.call is not None and action.call.tool == tool
    for name, value in arguments.items():
        assert action.call.arguments.get(name) == value
    shortlist_planner.registry.get(tool).validate(action.call.arguments)
