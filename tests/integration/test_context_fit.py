"""The real embedded model in a small context: a request whose result would overflow it is
planned with less, never refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmos_shell.backends.llama_cpp import LlamaCppBackend
from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.models.locate import embedded_model_path
from llmos_shell.planning.planner import Planner, Transcript
from llmos_shell.registry import Registry, discover

MODEL_FIXTURES = frozenset({"small_context"})
WINDOW = 1024


@pytest.fixture(scope="module")
def small_context() -> Iterator[LlamaCppBackend]:
    """The embedded model loaded with a context too small for its planner's whole prompt."""
    backend = LlamaCppBackend(embedded_model_path(), context_size=WINDOW, threads=2)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover(None)


def _listing(registry: Registry, folder: Path) -> Transcript:
    """A listing request and the real result of listing a folder of 3,000 files."""
    for number in range(3000):
        (folder / f"report-{number:04d}.txt").write_text("x")
    call = ToolCall("list_directory", {"path": str(folder), "limit": 3000})
    data = registry.get("list_directory").invoke(call.arguments)
    transcript = Transcript(f"list the files in {folder}")
    transcript.steps.append((call, ToolResult(call, ok=True, data=data)))
    return transcript


def test_a_result_too_big_for_the_context_is_shortened_and_answered(
    small_context: LlamaCppBackend, registry: Registry, tmp_path: Path
) -> None:
    planner = Planner(small_context, registry)
    planner.warm_up()  # the prefix alone leaves no room: it is warmed without its examples
    transcript = _listing(registry, tmp_path)
    whole = planner.messages_for(transcript, final=True)
    assert small_context.count_tokens(whole) > WINDOW  # as it was, it could not be sent

    action = planner.next_action(transcript, final=True)

    assert action.call is None and action.answer, action
    assert action.generation is not None
    assert action.generation.prompt_tokens + action.generation.completion_tokens <= WINDOW
    # What warm_up evaluated (the system prompt alone) was reused, not evaluated again: all
    # but the assistant turn's opening (3 tokens) that the warmed prompt ended with.
    assert action.generation.cached_tokens >= small_context.count_tokens(planner.prefix[:1]) - 3
    said = planner.pop_trimmed()
    assert said is not None and f"context of {WINDOW} tokens" in said, said
    assert "shortened" in said and "examples" in said


def test_the_next_step_after_a_big_result_is_planned_not_refused(
    small_context: LlamaCppBackend, registry: Registry, tmp_path: Path
) -> None:
    """Not the final step: the model may call again or answer, and whichever it does is
    held to the schema as usual."""
    planner = Planner(small_context, registry)
    transcript = _listing(registry, tmp_path)
    action = planner.next_action(transcript)
    assert (action.call is None) != (action.answer is None)
    if action.call is not None:
        registry.get(action.call.tool).validate(action.call.arguments)
    assert planner.pop_trimmed() is not None
