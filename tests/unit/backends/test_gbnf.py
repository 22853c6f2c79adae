"""JSON Schema to GBNF: every literal escaped, every value bounded, and llama.cpp's parser agrees.

Grammars llama.cpp rejects crash the process when sampled with, so each schema here, the
awkward ones first, is checked with llama.cpp's own grammar parser (the embedded model's
vocabulary, loaded alone).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from llmos_shell.backends.gbnf import schema_to_gbnf
from llmos_shell.errors import GrammarError
from llmos_shell.planning.schema import action_schema
from llmos_shell.registry import discover

AWKWARD: dict[str, dict[str, Any]] = {
    "enum value with a quote": {
        "type": "object",
        "properties": {"a": {"enum": ['x"y', "back\\slash", "new\nline", "tab\t", "é", "\x01"]}},
        "required": ["a"],
    },
    "property name with a quote": {
        "type": "object",
        "properties": {'a"b': {"type": "string"}, "c\\d": {"type": "integer"}},
        "required": ['a"b'],
    },
    "huge maxItems": {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "integer"}, "maxItems": 3000}},
    },
    "only optional properties": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "number"}, "c": {}},
    },
    "nested objects and type lists": {
        "type": "object",
        "properties": {
            "when": {"type": ["string", "null"]},
            "where": {
                "type": "object",
                "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
                "required": ["lat", "lon"],
            },
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["where"],
    },
    "a long enum (spans of a request)": {
        "type": "object",
        "properties": {"q": {"enum": [f"word{i} word{i + 1} {'x' * (i % 7)}" for i in range(300)]}},
        "required": ["q"],
    },
    "every built-in tool": action_schema(discover(None)),
}


@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    llama_cpp = pytest.importorskip("llama_cpp")
    from llmos_shell.models.locate import embedded_model_path

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(embedded_model_path()).encode(), params)
    assert model
    yield llama_cpp.llama_model_get_vocab(model)
    llama_cpp.llama_model_free(model)


@pytest.mark.parametrize("name", list(AWKWARD))
def test_llama_cpp_accepts_the_grammar(vocab: Any, name: str) -> None:
    import llama_cpp

    grammar = schema_to_gbnf(AWKWARD[name])
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.text.encode(), b"root")
    assert sampler, f"llama.cpp rejected the grammar for {name}:\n{grammar.text[:2000]}"
    llama_cpp.llama_sampler_free(sampler)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"anyOf": []}, "anyOf needs at least one option"),
        ({"enum": []}, "an enum needs at least one value"),
        ({"type": "tuple-of-things"}, "unknown type"),
        ({"enum": ["\ud800"]}, "lone surrogate"),
    ],
)
def test_what_cannot_be_a_grammar_is_one_sentence(schema: dict[str, Any], problem: str) -> None:
    with pytest.raises(GrammarError, match=problem):
        schema_to_gbnf({"type": "object", "properties": {"a": schema}, "required": ["a"]})


def test_every_literal_is_escaped() -> None:
    text = schema_to_gbnf(AWKWARD["enum value with a quote"]).text
    assert '"\\"x\\\\\\"y\\""' in text  # the JSON text "x\"y", as a GBNF literal
    assert "\\\\u0001" in text  # the JSON escape of \x01, its backslash escaped


def test_strings_and_arrays_are_bounded() -> None:
    grammar = schema_to_gbnf(
        {
            "type": "object",
            "properties": {
                "s": {"type": "string", "maxLength": 10},
                "xs": {"type": "array", "items": {"enum": ["ab"]}, "maxItems": 3},
            },
            "required": ["s", "xs"],
        }
    )
    longest = '{"s": "' + "\\n" * 10 + '", "xs": ["ab", "ab", "ab"]}'
    assert len(longest) <= grammar.max_chars
    assert "{0,10}" in grammar.text and "{0,2}" in grammar.text
    unbounded = schema_to_gbnf({"type": "array", "items": {"type": "string"}})
    assert unbounded.max_chars < 10**6  # nothing is left open


def test_the_max_chars_bound_covers_real_calls() -> None:
    schema = AWKWARD["every built-in tool"]
    grammar = schema_to_gbnf(schema)
    call = {"tool": "find_files", "arguments": {"path": "~/Downloads", "name": "*.pdf", "limit": 5}}
    assert len(json.dumps(call)) <= grammar.max_chars
