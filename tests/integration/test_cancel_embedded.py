"""Cancelling the real embedded model while it evaluates a long prompt, not only between tokens.

llama.cpp evaluates a prompt in batches of hundreds of tokens, seconds each on a small
machine; the backend's abort callback lets `cancel` stop it inside a batch. What is tested:
it stops before the prompt is evaluated, and the model works as before afterwards. How fast
it stops is measured by bench/latency.py, never asserted here.
"""

from __future__ import annotations

import threading
import time

import pytest

from llmos_shell.backends.base import ChatMessage
from llmos_shell.backends.llama_cpp import LlamaCppBackend
from llmos_shell.errors import Cancelled

pytestmark = pytest.mark.model

LONG = " ".join(
    f"line {n}: the backup of folder {n % 7} finished with status ok." for n in range(120)
)


def test_cancel_stops_the_prompt_evaluation_and_the_model_still_answers(
    embedded_backend: LlamaCppBackend,
) -> None:
    backend = embedded_backend
    messages = [
        ChatMessage("system", "You read logs and answer in one sentence."),
        ChatMessage("user", f"{LONG}\nWhich folder had the most backups?"),
    ]
    prompt_tokens = backend.count_tokens(messages)
    assert prompt_tokens > 1000  # seconds of evaluation on any CPU this runs on
    backend._llm.reset()  # nothing of it cached
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.perf_counter()
    try:
        with pytest.raises(Cancelled):
            backend.generate(messages, schema=None, max_tokens=8, cancel=cancel)
    finally:
        timer.cancel()
    stopped_after = time.perf_counter() - started
    # It stopped inside the prompt: without the abort callback llama.cpp would evaluate all
    # of it before the first token, where the cancel used to be seen.
    assert backend._llm.n_tokens < prompt_tokens, f"stopped after {stopped_after:.2f} s"
    short = [ChatMessage("user", "Say ok.")]
    again = backend.generate(short, schema=None, max_tokens=4)
    backend._llm.reset()
    fresh = backend.generate(short, schema=None, max_tokens=4)
    assert again.text == fresh.text and again.text.strip()
