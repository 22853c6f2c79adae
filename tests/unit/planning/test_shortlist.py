"""The per-request tool shortlist and examples, on the real offline embedding model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmos_shell.backends.base import ChatMessage, Generation, GenerationStats
from llmos_shell.calls import Risk
from llmos_shell.planning.planner import Planner, Transcript
from llmos_shell.planning.shortlist import (
    ToolShortlist,
    default_shortlist,
    delexicalize,
    shipped_examples,
)
from llmos_shell.prompts import load_prompt
from llmos_shell.registry import Registry, discover

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return discover(tmp_path_factory.mktemp("plugins"))


@pytest.fixture(scope="module")
def shortlist(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> ToolShortlist:
    return default_shortlist(registry, size=4, examples=3, cache_dir=tmp_path_factory.mktemp("c"))


@pytest.mark.parametrize(
    ("request_text", "tool"),
    [
        ("how much room is left on my drive", "disk_usage"),
        ("which app is eating the processor", "list_processes"),
        ("show me what's inside config.yaml", "read_file"),
        ("what's my ip", "network_info"),
    ],
)
def test_the_right_tool_is_on_the_shortlist(
    shortlist: ToolShortlist, request_text: str, tool: str
) -> None:
    selection = shortlist.select(request_text)
    names = [item.name for item in selection.tools]
    assert 1 <= len(names) <= 4
    assert names[0] == tool
    assert selection.fit is not None and selection.fit > 0.9  # a plain request for a tool


def test_examples_belong_to_offered_tools_and_the_closest_comes_last(
    shortlist: ToolShortlist,
) -> None:
    selection = shortlist.select("find the pdf files in my documents")
    offered = {item.name for item in selection.tools}
    assert len(selection.examples) == 3
    assert all(e.tool is None or e.tool in offered for e in selection.examples)
    query = shortlist.embedder.embed([delexicalize("find the pdf files in my documents")])[0]
    sims = [
        float(shortlist.embedder.embed([delexicalize(e.request)])[0] @ query)
        for e in selection.examples
    ]
    assert sims == sorted(sims)


def test_chit_chat_brings_answer_examples(shortlist: ToolShortlist) -> None:
    selection = shortlist.select("tell me something funny")
    assert selection.allow_answer
    assert selection.examples[-1].tool is None
    assert json.loads(selection.examples[-1].reply())["answer"]


def test_the_shortlist_keeps_the_static_prefix(
    registry: Registry, shortlist: ToolShortlist
) -> None:
    class NoModel:
        name = "none"
        stats = GenerationStats()

        def prepare(self, prefix: object) -> None: ...

        def generate(self, *args: object, **kwargs: object) -> Generation:
            raise AssertionError("not called")

        def describe(self) -> str:
            return "none"

    planner = Planner(NoModel(), registry, shortlist=shortlist, static_examples=False)
    first = planner.messages_for(Transcript("how much disk space is left"))
    second = planner.messages_for(Transcript("kill firefox"))
    prefix = list(planner.prefix)
    assert first[: len(prefix)] == prefix == second[: len(prefix)]
    assert first[len(prefix) :] != second[len(prefix) :]
    assert first[-1] == ChatMessage("user", "how much disk space is left")


def test_shipped_examples_are_valid_calls(registry: Registry) -> None:
    pool = shipped_examples(load_prompt("plan_examples.jsonl"))
    assert len(pool) >= 100
    for example in pool:
        assert example.tool is not None
        registry.get(example.tool).args_model(**example.arguments)


def test_no_dev_request_is_among_the_examples(registry: Registry) -> None:
    dev = ROOT / "bench" / "data" / "plan_dev.jsonl"
    if not dev.is_file():
        pytest.skip("the dev set is not in this checkout")
    asked = {json.loads(line)["request"].strip().lower() for line in dev.read_text().splitlines()}
    shown = [e.request for e in shipped_examples(load_prompt("plan_examples.jsonl"))]
    shown += [item["request"] for item in json.loads(load_prompt("answer_examples.json"))]
    shown += [e.request for tool in registry for e in tool.examples]
    assert not [text for text in shown if text.strip().lower() in asked]


@pytest.mark.parametrize(
    ("request_", "tool", "answer"),
    [
        ("forget where my thesis is", "forget", False),  # the tool's whole name: a call
        ("kill the sleep process", "kill_process", None),  # its first word: on offer
    ],
)
def test_a_request_that_opens_with_a_tool_s_name_has_it_on_offer(
    shortlist: ToolShortlist, request_: str, tool: str, answer: bool | None
) -> None:
    selection = shortlist.select(request_)
    assert tool in [t.name for t in selection.tools]
    if answer is not None:
        assert selection.allow_answer is answer


def test_a_first_word_that_several_tools_share_names_none(registry: Registry) -> None:
    from llmos_shell.planning.shortlist import _named_tool

    tools = list(registry)
    assert _named_tool("list the jobs of the printer", tools) == (None, False)
    assert _named_tool("what is in my downloads", tools) == (None, False)
    named, exact = _named_tool("Forget, where my thesis is", tools)
    assert named is not None and named.name == "forget" and exact


def test_a_request_a_tool_serves_in_new_words_gets_a_second_look(
    shortlist: ToolShortlist,
) -> None:
    """Below the answer line, yet write_file is as close as no tool-less request came:
    planned as a call to it, not left to an answer that refuses."""
    selection = shortlist.select("add a line 'call mom' to todo.txt")
    model = shortlist.relevance
    assert model is not None and selection.fit is not None
    assert selection.fit < model.answer_only_below  # the answer line alone would answer
    assert selection.second_look
    assert [item.name for item in selection.tools][:1] == ["write_file"]
    assert not selection.allow_answer


@pytest.mark.parametrize(
    "request_text", ["what does grep do", "explain what a zombie process is", "what is a pid"]
)
def test_a_question_of_knowledge_gets_no_second_look_and_no_change(
    shortlist: ToolShortlist, request_text: str
) -> None:
    selection = shortlist.select(request_text)
    assert not selection.second_look
    # "what is a pid" is close to kill_process, which a question never asks for.
    assert all(item.risk is Risk.READ_ONLY for item in selection.tools)
    assert selection.tools or selection.allow_answer


@pytest.mark.parametrize(
    "request_text", ["book me a flight to paris", "order a pizza", "turn on the living room lights"]
)
def test_an_out_of_scope_request_names_no_tool_as_the_closest(
    shortlist: ToolShortlist, request_text: str
) -> None:
    selection = shortlist.select(request_text)
    assert selection.tools == () and selection.allow_answer
    assert selection.closest == ()


def test_a_near_tool_is_named_as_the_closest(shortlist: ToolShortlist) -> None:
    selection = shortlist.select("send me a desktop notification that lunch is ready")
    assert selection.closest[:1] == ("notify",)
