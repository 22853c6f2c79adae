"""The real embedded model on llama.cpp: valid calls, multi-step runs, prefix reuse.

These check that the real path works (every output conforms to the schema, results flow
back to the model, the static prompt is reused), whatever step the model picks; they make no
accuracy claim (that is the benchmarks' job, bench/plan_accuracy.py).
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

pytestmark = pytest.mark.model

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


class Recording:
    """The real backend, noting the messages of every request it is sent."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.prompts: list[list[Any]] = []

    def generate(self, messages: Any, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return self.real.generate(messages, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _leaves(value: Any) -> list[str]:
    """The strings in a tool's result, in order."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value] if isinstance(value, str) else []


def test_a_result_goes_back_to_the_model_before_the_answer(
    embedded_backend: Any, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever tool the model calls: it runs (read-only, no one asked), and the model is
    asked again with the result in its prompt before the request is answered."""
    (tmp_path / "quarterly-report-7f3a.txt").write_text("quarterly numbers\n")
    monkeypatch.chdir(tmp_path)  # the folder named, owned by the test
    backend = Recording(embedded_backend)
    session = Session(Planner(backend, registry), registry, max_steps=3)
    outcome = session.run("list the files in this folder")
    assert outcome.status is Status.ANSWERED, outcome.to_json()
    assert outcome.steps, "no tool was called for a plain listing request"
    first = outcome.steps[0]
    tool = registry.get(first.call.tool)
    tool.validate(first.call.arguments)
    assert first.decision.verdict.value == "allow", first.decision  # ran without asking
    assert first.result is not None and first.result.ok, first.result
    assert len(backend.prompts) >= 2, "the model was not asked again after the result"
    later = "\n".join(str(getattr(m, "content", m)) for m in backend.prompts[1])
    leaves = [leaf for leaf in _leaves(first.result.data) if len(leaf) >= 4]
    assert leaves and any(leaf in later for leaf in leaves[:20]), "the result is not in the prompt"


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
    "request_text",
    [
        "how much disk space is free?",
        "find pdf files bigger than 10 megs in my downloads",
        "kill firefox",
        "tell me a joke",
    ],
)
def test_the_shortlist_planner_calls_only_an_offered_tool(
    shortlist_planner: Planner, request_text: str
) -> None:
    """A valid call of a tool the shortlist offered, or an answer where one was allowed; the
    text is exactly that step. Which step is right is measured by the benchmark
    (`python bench/plan_accuracy.py --data bench/data/plan_smoke.jsonl`)."""
    transcript = Transcript(request_text)
    action = shortlist_planner.next_action(transcript)
    selection = transcript.selection
    assert selection is not None and action.generation is not None
    if action.call is None:
        assert action.answer is not None and selection.allow_answer
        assert action.generation.text.lstrip().startswith('{"answer"')
        return
    assert action.call.tool in {tool.name for tool in selection.tools}
    shortlist_planner.registry.get(action.call.tool).validate(action.call.arguments)
    assert json.loads(action.generation.text)["tool"] == action.call.tool


def test_a_request_a_tool_serves_in_new_words_is_planned_not_refused(
    shortlist_planner: Planner,
) -> None:
    """Answered, the embedded model said "I can't make phone calls"; the second look plans
    it with write_file, the line that the request quotes as its content."""
    transcript = Transcript("add a line 'call mom' to todo.txt")
    action = shortlist_planner.next_action(transcript)
    assert transcript.selection is not None and transcript.selection.second_look
    assert action.call is not None and action.call.tool == "write_file"
    assert "call mom" in str(action.call.arguments.get("content", ""))
