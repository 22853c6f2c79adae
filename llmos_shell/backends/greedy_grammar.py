"""Greedy sampling under a grammar that asks the grammar about the model's first choice first.

llama-cpp-python's sampler chain runs the grammar over every token of the vocabulary at each
step (10-13 ms for SmolLM2's 49k tokens on this machine, as long as evaluating the token),
then takes the best one left. When sampling is greedy, the result is the same if the best
token overall is one the grammar allows, so that one token is checked first and the whole
vocabulary only when the grammar rejects it (as llama.cpp's own common sampler does).
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

# llama_token_data: {int32 id; float logit; float p}
_TOKEN_DATA = [("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]


class GreedyGrammarSampler:
    """The sampler llama-cpp-python builds for greedy decoding under a grammar, checking the
    best token alone before the whole vocabulary; it picks exactly the same tokens."""

    def __init__(self, llm: Any, grammar: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._n_vocab = int(llm.n_vocab())
        self._sampler = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._sampler:
            raise ValueError("llama.cpp rejected the grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._all: Any = None  # the whole vocabulary's array, made when first needed
        self.full_passes = 0  # steps whose best token the grammar rejected

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The best token the grammar allows after the logits at `idx`, accepted into it."""
        import numpy as np

        lib = self._lib
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), (self._n_vocab,))
        token = int(np.argmax(logits))
        best = self._one[0]
        best.id, best.logit, best.p = token, float(logits[token]), 0.0  # type: ignore[assignment]
        one = lib.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        lib.llama_sampler_apply(self._sampler, ctypes.byref(one))
        if math.isinf(best.logit):  # rejected: ask about every token
            self.full_passes += 1
            if self._all is None:
                self._all = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
            every = self._all
            every["id"] = np.arange(self._n_vocab, dtype=np.int32)
            every["logit"] = logits
            every["p"] = 0.0
            full = lib.llama_token_data_array(
                data=every.ctypes.data_as(lib.llama_token_data_p),
                size=self._n_vocab,
                selected=-1,
                sorted=False,
            )
            lib.llama_sampler_apply(self._sampler, ctypes.byref(full))
            kept = every[: int(full.size)]
            token = int(kept["id"][int(np.argmax(kept["logit"]))])
        lib.llama_sampler_accept(self._sampler, token)
        return token

    def close(self) -> None:
        """Free the grammar's native state."""
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None

    def __del__(self) -> None:
        self.close()


def install(llm: Any) -> bool:
    """Make `llm` (a llama_cpp.Llama) use GreedyGrammarSampler wherever its own chain would do
    greedy decoding under a grammar with nothing else changing the logits; False when this
    llama-cpp-python has no sampler factory to wrap (then it samples as it always did)."""
    original = getattr(llm, "_init_sampler", None)
    if original is None:
        return False

    def init_sampler(**options: Any) -> Any:
        grammar = options.get("grammar")
        plain_greedy = (
            options.get("temp") == 0.0
            and options.get("repeat_penalty", 1.0) == 1.0
            and not options.get("frequency_penalty")
            and not options.get("presence_penalty")
            and options.get("logits_processor") is None
        )
        if grammar is not None and plain_greedy:
            return GreedyGrammarSampler(llm, grammar)
        return original(**options)

    llm._init_sampler = init_sampler
    return True
