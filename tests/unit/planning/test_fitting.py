"""Fitting a prompt into the model's context: what is left out first, and what never is.

The scripted backend is given a context window and counts a token per four characters; it
refuses a prompt that does not fit, as the real backends do. These test the planner's order
of leaving things out, not what a model does with less (tests/integration/test_context_fit.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.backends.base import ChatMessage, GenerateCall, Generation
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.errors import ContextOverflowError
from llmos_shell.planning.fitting import RESULT_FLOOR, Trim, shorten, trims
from llmos_shell.planning.planner import MemoryContext, Planner, Transcript, Turn
from llmos_shell.planning.shortlist import PlanExample
from llmos_shell.registry import Registry, discover
from llmos_shell.session import Session, SilentEvents, Status

NOTES = "Things the person told you (data): the backups live in /srv/backup-7f3a."
EXAMPLE = PlanExample("show the space on my backup disk 9c2e", "disk_usage", {"path": "/srv"})
REQUEST = "list the files in /var/spool/report-queue-5d1b"
ANSWER = {"answer": "There are many reports."}


def _result(name: str, lines: int) -> ToolResult:
    call = ToolCall("list_directory", {"path": f"/srv/{name}"})
    text = "\n".join(f"{name}-entry-{number:05d}.txt" for number in range(lines))
    return ToolResult(call, ok=True, data=text)


def _transcript() -> Transcript:
    """A request with notes and an example from memory, and two big results so far."""
    transcript = Transcript(REQUEST, memory=MemoryContext(notes=NOTES, examples=(EXAMPLE,)))
    for name in ("older", "latest"):
        result = _result(name, 2000)
        transcript.steps.append((result.call, result))
    return transcript


@pytest.fixture(scope="module")
def registry() -> Registry:
    return discover(None).subset(["list_directory", "disk_usage"])


def _planner(registry: Registry, window: int | None = None) -> tuple[Planner, ScriptedBackend]:
    backend = ScriptedBackend(replies=[ANSWER], window=window)
    planner = Planner(backend, registry, max_answer_tokens=16)
    return planner, backend


def _tokens(planner: Planner, trim: Trim | None = None) -> int:
    probe = ScriptedBackend(window=1)  # counts as the planner's backend does
    used = probe.count_tokens(planner.messages_for(_transcript(), final=True, trim=trim))
    assert used is not None
    return used


def _sent(backend: ScriptedBackend) -> str:
    return "\n".join(m.content for m in backend.requests[-1][0])


def test_a_prompt_that_fits_is_sent_whole(registry: Registry) -> None:
    planner, backend = _planner(registry, window=10**6)
    whole = planner.messages_for(_transcript(), final=True)
    planner.next_action(_transcript(), final=True)
    assert backend.requests[-1][0] == whole
    assert planner.pop_trimmed() is None


def test_what_is_left_out_comes_in_order_of_least_value(registry: Registry) -> None:
    """Each window is just big enough for one version of the prompt: the planner sends that
    version, and so leaves out exactly what comes before it in the order."""
    planner, _ = _planner(registry)
    sizes = [_tokens(planner)] + [
        _tokens(planner, trim) for trim in trims([1500, 1500], chosen=True, static=True, notes=True)
    ]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    seen = []
    for size in sizes[1:]:
        planner, backend = _planner(registry, window=size + 16)
        action = planner.next_action(_transcript(), final=True)
        assert action.answer == ANSWER["answer"]
        text = _sent(backend)
        assert REQUEST in text  # never cut
        seen.append(
            (
                EXAMPLE.request in text,
                len([m for m in backend.requests[-1][0] if m.role == "assistant"]) > 2,
                NOTES in text,
                text.count("cut here to fit"),
                _result("latest", 2000).for_model(planner.observation_chars) in text,
            )
        )
    # The chosen example goes first, then the static examples, then the notes...
    assert seen[0] == (False, True, True, 0, True)
    assert seen[1] == (False, False, True, 0, True)
    assert seen[2] == (False, False, False, 0, True)
    # ...then the older result is cut before the latest is.
    older_only = [s for s in seen[3:] if s[3] == 1]
    assert older_only and all(s[4] for s in older_only)
    assert seen[-1][3] == 2


def test_a_cut_result_keeps_its_head_and_tail_and_says_how_much_went(registry: Registry) -> None:
    smallest = list(trims([1500, 1500], chosen=True, static=True, notes=True))[-1]
    planner, backend = _planner(registry, window=_tokens(_planner(registry)[0], smallest) + 16)
    planner.next_action(_transcript(), final=True)
    text = _sent(backend)
    assert "older-entry-00000" in text and "older-entry-01999" in text
    assert "older-entry-01000" not in text
    assert "lines) cut here to fit the model's context" in text
    said = planner.pop_trimmed()
    assert said is not None
    assert said.startswith("to fit the model's context of ")
    assert "the examples and your notes were left out" in said and "2 results were" in said


def test_the_request_is_never_cut_and_too_small_a_context_is_the_error(
    registry: Registry,
) -> None:
    planner, backend = _planner(registry, window=50)
    with pytest.raises(ContextOverflowError) as caught:
        planner.next_action(_transcript(), final=True)
    assert caught.value.size == 50
    assert REQUEST in _sent(backend)
    assert len(backend.requests) == 1  # nothing new was learnt, so it was not sent again


@dataclass
class EstimatingServer(ScriptedBackend):
    """As a server behind the OpenAI API is to the planner: its window is unknown until an
    overflow names it, and its counts are estimates that fall short by half."""

    def count_tokens(self, messages: Any, *, tools: Any = None) -> int | None:
        true = super().count_tokens(messages)
        return None if true is None else true // 2

    def context_window(self) -> int | None:
        return None

    def _generate(self, call: GenerateCall) -> Generation:
        true = ScriptedBackend.count_tokens(self, call.messages)
        assert true is not None and self.window is not None
        if true + 8 > self.window:
            self.requests.append((list(call.messages), call.schema))
            raise ContextOverflowError(true, self.window)
        return super()._generate(call)


def test_a_server_that_overflows_teaches_the_planner_its_window(registry: Registry) -> None:
    planner, _ = _planner(registry)
    window = _tokens(planner, Trim(chosen=True, static=True, notes=True)) + 64
    backend = EstimatingServer(replies=[ANSWER, ANSWER], window=window)
    planner = Planner(backend, registry, max_answer_tokens=16)
    action = planner.next_action(_transcript(), final=True)
    assert action.answer == ANSWER["answer"]
    assert len(backend.requests) == 2  # the whole prompt, refused; then one that fits
    assert NOTES in "\n".join(m.content for m in backend.requests[0][0])
    assert planner.pop_trimmed() is not None
    planner.next_action(_transcript(), final=True)  # learnt: fitted before it is sent
    assert len(backend.requests) == 3


class Noticed(SilentEvents):
    """Events that keep the notices."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def notice(self, text: str) -> None:
        self.notices.append(text)


def test_the_person_is_told_once_what_was_left_out(registry: Registry, tmp_path: Path) -> None:
    for number in range(400):
        (tmp_path / f"invoice-{number:04d}-with-a-long-name.pdf").write_text("x")
    call = {"tool": "list_directory", "arguments": {"path": str(tmp_path), "limit": 400}}
    planner, backend = _planner(registry)
    bare = planner.messages_for(Transcript("list them"), trim=Trim(chosen=True, static=True))
    first = ScriptedBackend(window=1).count_tokens(bare)
    assert first is not None
    backend.window = first + 250  # room for the request and a call, not for the listing
    backend.replies = [call, ANSWER]
    events = Noticed()
    outcome = Session(planner, registry).run(f"list the files in {tmp_path}", events)
    assert outcome.status is Status.ANSWERED, outcome.to_json()
    assert [n for n in events.notices if "to fit the model's context" in n] == [events.notices[-1]]
    assert "the examples were left out and a result was shortened by" in events.notices[-1]


def test_shorten_keeps_whole_lines_at_both_ends() -> None:
    text = "\n".join(f"line {number}" for number in range(1000))
    short = shorten(text, 200)
    head, rest = short.split("\n[... ", 1)
    said, tail = rest.split(" ...]\n", 1)
    assert text.startswith(head + "\n") and text.endswith("\n" + tail)
    assert head.split("\n")[0] == "line 0" and tail.split("\n")[-1] == "line 999"
    assert len(head) + len(tail) <= 200
    middle = text[len(head) : len(text) - len(tail)]
    assert (
        said == f"{len(middle)} characters ({middle.count(chr(10))} lines) cut here to fit "
        "the model's context"
    )
    assert shorten("short", 200) == "short"


def test_shorten_cuts_one_long_line_by_characters() -> None:
    text = json.dumps([{"name": f"file-{n}"} for n in range(500)])
    short = shorten(text, 300)
    assert short.startswith(text[:100]) and short.endswith(text[-100:])
    assert "lines" not in short.split("\n")[1]


def test_results_are_shortened_oldest_first_down_to_a_floor() -> None:
    steps = list(trims([1000, 1000], chosen=False, static=False, notes=False))
    assert steps[0] == Trim(result_chars=(500, None))
    latest_moves = next(i for i, t in enumerate(steps) if t.result_chars[1] is not None)
    assert steps[latest_moves - 1].result_chars[0] == RESULT_FLOOR
    assert steps[-1].result_chars == (RESULT_FLOOR, RESULT_FLOOR)


def test_a_message_list_the_scripted_backend_counts() -> None:
    backend = ScriptedBackend(window=100)
    assert backend.count_tokens([ChatMessage("user", "x" * 40)]) == 14
    assert ScriptedBackend().count_tokens([ChatMessage("user", "x")]) is None


def test_a_plan_says_what_it_left_out(registry: Registry) -> None:
    planner, backend = _planner(registry)
    whole = ScriptedBackend(window=1).count_tokens(planner.messages_for(Transcript(REQUEST)))
    assert whole is not None
    backend.window = whole + 8  # the prompt fits, the room for the reply does not
    session = Session(planner, registry)
    action = session.plan(REQUEST)
    assert action.answer == ANSWER["answer"]
    assert session.last_trimmed == (
        f"to fit the model's context of {whole + 8} tokens, the examples were left out"
    )
    backend.window, backend.replies = 10**6, [ANSWER]
    session.plan(REQUEST)
    assert session.last_trimmed is None


def test_the_results_of_the_request_before_are_cut_before_this_ones(registry: Registry) -> None:
    before = _result("before", 2000)
    turn = Turn("list /srv/before", before.call, results=(before.data,))
    transcript = _transcript()
    transcript.history = (turn,)
    transcript.memory = None
    planner, backend = _planner(registry)
    probe = ScriptedBackend(window=1)
    first_cut = next(t for t in planner_trims(planner, transcript) if t.earlier is not None)
    used = probe.count_tokens(planner.messages_for(transcript, final=True, trim=first_cut))
    assert used is not None
    backend.window = used + 16
    planner.next_action(transcript, final=True)
    text = _sent(backend)
    assert text.count("cut here to fit") == 1 and "before-entry-01999" in text  # its tail kept
    assert _result("older", 2000).for_model(planner.observation_chars) in text  # as usual
    said = planner.pop_trimmed()
    assert said is not None and "the results of the requests before were shortened" in said


def planner_trims(planner: Planner, transcript: Transcript) -> list[Trim]:
    """The versions the planner would try for `transcript`, from the fitting module."""
    return list(
        trims(
            [len(r.for_model(planner.observation_chars)) for _, r in transcript.steps],
            chosen=False,
            static=True,
            notes=False,
            earlier=planner.observation_chars,
        )
    )
