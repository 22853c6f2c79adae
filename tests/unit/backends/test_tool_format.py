"""The model's own tool format: detected from the template, constrained, and read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmos_shell.backends.tool_format import FORMATS, detect
from llmos_shell.planning.schema import action_schema
from llmos_shell.registry import discover

HERMES_TEMPLATE = (
    "{%- if tools %}<tools>{% for tool in tools %}{{ tool | tojson }}{% endfor %}</tools>"
    "For each function call, return a json object within <tool_call></tool_call> tags"
    "{%- endif %}"
)
HERMES = FORMATS[0]


def test_the_format_is_read_from_the_template() -> None:
    assert detect(HERMES_TEMPLATE) is HERMES
    assert detect("{{ messages }} <|im_start|>") is None  # no tools branch: our own format
    assert detect(None) is None


def test_a_native_call_becomes_the_action_json() -> None:
    text = '<tool_call>\n{"name": "disk_usage", "arguments": {"path": "~"}}\n</tool_call>'
    assert json.loads(HERMES.to_action(text)) == {"tool": "disk_usage", "arguments": {"path": "~"}}
    assert json.loads(HERMES.to_action("Hello there!")) == {"answer": "Hello there!"}
    cut = '<tool_call>\n{"name": "disk_usage", "argum'
    assert HERMES.to_action(cut) == cut  # left as it is: the planner says it was cut off


def test_the_stream_is_passed_on_in_the_action_form() -> None:
    seen: list[str] = []
    feed = HERMES.translator(seen.append)
    for piece in ["<tool", "_call>\n", '{"name": "x",', ' "arguments": {}}']:
        feed(piece)
    assert "".join(seen).startswith('{"tool": ')
    seen.clear()
    feed = HERMES.translator(seen.append)
    for piece in ["Hi", ' "there"', "!"]:
        feed(piece)
    assert "".join(seen) == '{"answer": "Hi \\"there\\"!'


@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    llama_cpp = pytest.importorskip("llama_cpp")
    from llmos_shell.models.locate import embedded_model_path

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(embedded_model_path()).encode(), params)
    yield llama_cpp.llama_model_get_vocab(model)
    llama_cpp.llama_model_free(model)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("allow_answer", [True, False])
def test_llama_cpp_accepts_each_native_grammar(vocab: Any, fmt: Any, allow_answer: bool) -> None:
    import llama_cpp

    schema = action_schema(discover(None), allow_answer=allow_answer)
    grammar = fmt.grammar(schema)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.text.encode(), b"root")
    assert sampler, grammar.text[:1000]
    llama_cpp.llama_sampler_free(sampler)
    assert ("answer ::=" in grammar.text) is allow_answer
