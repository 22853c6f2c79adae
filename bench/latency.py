"""Planning latency on the embedded model: cold, cached and warm, against a bare-prompt floor.

    python bench/latency.py [--model PATH] [--threads N]

The floor is the same llama.cpp model, in the same process, evaluating a prompt as long as
the request's own tokens and generating as many tokens as the plan did, with no grammar and
no prompt prefix: what the hardware costs, whatever the planner does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from llmos_shell.backends.base import ChatMessage
from llmos_shell.backends.llama_cpp import LlamaCppBackend
from llmos_shell.models import resolve_model
from llmos_shell.planner import Planner, Transcript
from llmos_shell.registry import discover

REQUESTS = [
    "how much disk space is free?",
    "which processes use the most memory?",
    "list the files in /tmp",
    "find pdf files bigger than 10 MB in my home",
    "what's my ip address",
    "show the first lines of notes.txt",
]


def main() -> None:
    """Run the measurements and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = resolve_model(args.model)
    registry = discover(None)
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        backend = LlamaCppBackend(model, threads=args.threads, cache_dir=Path(cache))
        load_s = time.perf_counter() - started
        planner = Planner(backend, registry)
        started = time.perf_counter()
        planner.warm_up()
        prefix_s = time.perf_counter() - started
        prefix_tokens = backend.count_tokens(planner.prefix)
        backend.close()

        started = time.perf_counter()
        backend = LlamaCppBackend(model, threads=args.threads, cache_dir=Path(cache))
        planner = Planner(backend, registry)
        planner.warm_up()
        cached_start_s = time.perf_counter() - started
        assert backend.stats.extra.get("prefix_from_cache"), "the prefix cache was not used"

        plan_s: list[float] = []
        floor_s: list[float] = []
        for request in REQUESTS:
            started = time.perf_counter()
            action = planner.next_action(Transcript(request))
            plan_s.append(time.perf_counter() - started)
            gen = action.generation
            assert gen is not None
            own = gen.prompt_tokens - gen.cached_tokens
            # The floor: a bare prompt of the same length, the same number of new tokens.
            bare = [ChatMessage("user", " ".join(["word"] * max(own - 6, 1)))]
            backend._llm.reset()
            started = time.perf_counter()
            backend.generate(bare, schema=None, max_tokens=gen.completion_tokens)
            floor_s.append(time.perf_counter() - started)
            planner.warm_up()  # the floor displaced the prefix; put it back (from the cache)
        backend.close()

    warm = statistics.median(plan_s)
    floor = statistics.median(floor_s)
    print(f"model: {model.name}")
    print(f"model load:                         {load_s:6.2f} s")
    print(f"static prompt ({prefix_tokens} tokens), evaluated: {prefix_s:6.2f} s")
    print(f"start with the prompt cache (load + restore): {cached_start_s:6.2f} s")
    print(f"warm planning, median of {len(plan_s)}:        {warm:6.2f} s")
    print(f"floor (bare prompt, same tokens), median: {floor:6.2f} s")
    print(f"warm planning / floor:              {warm / floor:6.2f}x")


if __name__ == "__main__":
    main()
