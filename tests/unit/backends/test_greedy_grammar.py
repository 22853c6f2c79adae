"""Greedy decoding under a grammar that checks the best token first picks the tokens
llama-cpp-python's own sampler chain picks, on the real embedded model."""

from __future__ import annotations

from typing import Any

import pytest

from llmos_shell.backends.base import ChatMessage
from llmos_shell.backends.greedy_grammar import GreedyGrammarSampler, install

CALL = {
    "type": "object",
    "properties": {
        "tool": {"type": "string", "enum": ["disk_usage", "list_directory", "find_files"]},
        "arguments": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
    "required": ["tool", "arguments"],
}
# A value the model would never choose first: the grammar rejects its best token often.
ODD = {
    "type": "object",
    "properties": {"word": {"type": "string", "enum": ["zqx-vortex", "plum"]}},
    "required": ["word"],
}


def _generate(backend: Any, schema: dict[str, Any], request: str) -> str:
    backend._llm.reset()  # nothing cached: each run evaluates the same prompt from the start
    messages = [
        ChatMessage("system", "Reply with one JSON object."),
        ChatMessage("user", request),
    ]
    text: str = backend.generate(messages, schema=schema, max_tokens=48, temperature=0.0).text
    return text


@pytest.mark.parametrize(
    ("schema", "request_text"),
    [(CALL, "how much disk space is free in /home?"), (ODD, "say a word")],
)
def test_the_same_text_as_the_librarys_own_chain(
    embedded_backend: Any, schema: dict[str, Any], request_text: str
) -> None:
    llm = embedded_backend._llm
    fast = _generate(embedded_backend, schema, request_text)
    sampler = llm._sampler
    assert isinstance(sampler, GreedyGrammarSampler)
    if schema is ODD:
        assert sampler.full_passes > 0  # the whole-vocabulary pass was taken and agreed
    del llm._init_sampler  # the class's own chain: a grammar pass over every token
    try:
        plain = _generate(embedded_backend, schema, request_text)
        assert not isinstance(llm._sampler, GreedyGrammarSampler)
    finally:
        assert install(llm)
    assert fast == plain
    assert fast.startswith("{")


def test_sampling_that_is_not_plain_greedy_keeps_the_librarys_chain(
    embedded_backend: Any,
) -> None:
    sampled = embedded_backend.generate(
        [ChatMessage("user", "say a word")], schema=ODD, max_tokens=16, temperature=0.7, seed=1
    )
    assert not isinstance(embedded_backend._llm._sampler, GreedyGrammarSampler)
    assert '"word"' in sampled.text
