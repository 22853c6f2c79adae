"""The planner: turns a request into the next action, a tool call or an answer.

The model's output is constrained to an action schema generated from the registry, so only
a real tool name with arguments of the right shape, or an answer, can come out. The static
part of the prompt (instructions, tool list, examples) comes first and is the same for every
request, so the backend evaluates it once and reuses it.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from llmos_shell.arguments import normalize_arguments
from llmos_shell.backends.base import Backend, ChatMessage, Generation
from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.registry import Registry, Tool
from llmos_shell.shortlist import Selection, ToolShortlist
from llmos_shell.slots import fill_arguments

CALL_MAX_TOKENS = 384


@functools.lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    """A prompt template from the `prompts/` folder shipped with the package (read once)."""
    return resources.files("llmos_shell.prompts").joinpath(name).read_text(encoding="utf-8")


def action_schema(tools: Iterable[Tool], *, allow_answer: bool = True) -> dict[str, Any]:
    """JSON Schema of one action: a call of one of `tools`, or (if allowed) an answer."""
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": item.name},
                "arguments": item.parameters_schema(),
            },
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for item in tools
    ]
    if allow_answer:
        options.append(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
                "additionalProperties": False,
            }
        )
    if not options:
        raise ValueError("an action schema needs at least one tool or the answer")
    return options[0] if len(options) == 1 else {"oneOf": options}


def signature(item: Tool) -> str:
    """The tool's arguments as a person reads them: `name(path?: string, top?: integer)`."""
    schema = item.parameters_schema()
    required = set(schema.get("required", []))
    params = []
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type") or "/".join(
            str(option.get("type", "?")) for option in spec.get("anyOf", [])
        )
        if "enum" in spec:
            kind = "|".join(str(v) for v in spec["enum"])
        params.append(f"{name}{'' if name in required else '?'}: {kind}")
    return f"{item.name}({', '.join(params)})"


@dataclass(frozen=True)
class Action:
    """What the model decided for one step: exactly one of `call` and `answer` is set."""

    call: ToolCall | None
    answer: str | None
    generation: Generation | None = None


@dataclass(frozen=True)
class Turn:
    """An earlier request of the same conversation and its first call, for follow-ups."""

    request: str
    call: ToolCall | None
    answer: str | None = None


@dataclass
class Transcript:
    """The conversation of one request: the request, the calls made and their results.

    `history` holds the turns before it ("kill it" needs the list it refers to);
    `selection` is the shortlist chosen for the request, kept for all its steps.
    """

    request: str
    steps: list[tuple[ToolCall, ToolResult]] = field(default_factory=list)
    history: Sequence[Turn] = ()
    selection: Selection | None = None


def _turns(conversation: dict[str, Any]) -> list[ChatMessage]:
    return [
        ChatMessage(role, content if isinstance(content, str) else json.dumps(content))
        for role, content in conversation["turns"]
    ]


class Planner:
    """Chooses the next action for a request, on any backend."""

    def __init__(
        self,
        backend: Backend,
        registry: Registry,
        *,
        observation_chars: int = 1500,
        max_answer_tokens: int = 256,
        shortlist: ToolShortlist | None = None,
        static_examples: bool = True,
        conversations: bool = True,
        tidy_arguments: bool = True,
    ) -> None:
        """`tidy_arguments` drops invented values, fills stated ones and normalises them;
        without it the model's arguments pass as written (the bare baseline)."""
        self.backend = backend
        self.registry = registry
        self.observation_chars = observation_chars
        self.max_answer_tokens = max_answer_tokens
        self.shortlist = shortlist
        self.static_examples = static_examples
        self.conversations = conversations
        self.tidy_arguments = tidy_arguments
        self._prefix = self._static_prefix()
        self._schema = action_schema(registry)
        self._answer_schema = action_schema([], allow_answer=True)

    def _static_prefix(self) -> list[ChatMessage]:
        """The system prompt and example turns: the same for every request."""
        # Names and purposes only: the grammar supplies the argument names as the model
        # writes them, and a shorter prompt measured better on the embedded model.
        tool_lines = "\n".join(f"- {item.name}: {item.description}" for item in self.registry)
        system = load_prompt("planner_system.txt").replace("{tools}", tool_lines)
        messages = [ChatMessage("system", system.strip())]
        # Whole conversations teach the shape of a turn: call, read the result, answer from
        # it; or answer plainly. Their place matters to small models, so each says it.
        conversations = json.loads(load_prompt("conversations.json"))
        usable = [c for c in conversations if all(name in self.registry for name in c["uses"])]
        if not self.conversations or not any(item.examples for item in self.registry):
            # Tools given without examples (plan --json - with OpenAI specs): an answer
            # example with no call example beside it teaches a small model to only answer.
            usable = []
        for c in usable:
            if c["place"] == "before":
                messages.extend(_turns(c))
        for item in self.registry if self.static_examples else ():
            for example in item.examples[:1]:
                messages.append(ChatMessage("user", example.request))
                call = {"tool": item.name, "arguments": dict(example.arguments)}
                messages.append(ChatMessage("assistant", json.dumps(call)))
        for c in usable:
            if c["place"] == "after":
                messages.extend(_turns(c))
        return messages

    @property
    def prefix(self) -> Sequence[ChatMessage]:
        """The static prompt prefix (read-only view)."""
        return tuple(self._prefix)

    def warm_up(self) -> None:
        """Evaluate the static prefix now so that requests only pay for their own tokens."""
        self.backend.prepare(self._prefix)

    def select(self, transcript: Transcript) -> Selection | None:
        """The tools and examples offered for this request (chosen once, on its first step)."""
        if self.shortlist is None:
            return None
        if transcript.selection is None:
            context = transcript.history[-1].request if transcript.history else ""
            transcript.selection = self.shortlist.select(transcript.request, context)
        return transcript.selection

    def messages_for(self, transcript: Transcript, *, final: bool = False) -> list[ChatMessage]:
        """The full conversation for the next step of `transcript`.

        After the static prefix come the examples chosen for this request, then the earlier
        turns of the conversation, then the request and its steps so far.
        """
        messages = list(self._prefix)
        selection = self.select(transcript)
        for example in selection.examples if selection else ():
            messages.append(ChatMessage("user", example.request))
            messages.append(ChatMessage("assistant", example.reply()))
        for turn in transcript.history:
            messages.append(ChatMessage("user", turn.request))
            if turn.call is not None:
                messages.append(ChatMessage("assistant", json.dumps(turn.call.to_json())))
            else:
                messages.append(ChatMessage("assistant", json.dumps({"answer": turn.answer or ""})))
        messages.append(ChatMessage("user", transcript.request))
        observation = load_prompt("observation.txt")
        for call, result in transcript.steps:
            messages.append(ChatMessage("assistant", json.dumps(call.to_json())))
            text = observation.replace("{tool}", call.tool).replace(
                "{result}", result.for_model(self.observation_chars)
            )
            if final and (call, result) == transcript.steps[-1]:
                text = text.rstrip() + "\n" + load_prompt("final_answer.txt")
            messages.append(ChatMessage("user", text.strip()))
        return messages

    def next_action(
        self,
        transcript: Transcript,
        *,
        final: bool = False,
        on_answer_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Action:
        """Ask the model for the next action; with `final`, only an answer may come out."""
        streamer = AnswerStreamer(on_answer_text)
        messages = self.messages_for(transcript, final=final)
        if final:
            schema = self._answer_schema
        elif transcript.selection is not None:
            selection = transcript.selection
            # After a failed call the model may always give up and explain.
            allow_answer = selection.allow_answer or bool(transcript.steps)
            if selection.tools:
                schema = action_schema(selection.tools, allow_answer=allow_answer)
            else:
                schema = self._answer_schema
        else:
            schema = self._schema
        generation = self.backend.generate(
            messages,
            schema=schema,
            max_tokens=self.max_answer_tokens
            if final
            else max(self.max_answer_tokens, CALL_MAX_TOKENS),
            on_text=streamer.feed,
            cancel=cancel,
        )
        if streamer.looped:
            return Action(call=None, answer=streamer.answer.strip(), generation=generation)
        action = parse_action(generation)
        if self.tidy_arguments and action.call is not None and action.call.tool in self.registry:
            grounding = " ".join(
                [
                    transcript.request,
                    *(r.for_model(self.observation_chars) for _, r in transcript.steps),
                    *(turn.request for turn in transcript.history),
                    *(json.dumps(t.call.arguments) for t in transcript.history if t.call),
                ]
            )
            call = drop_ungrounded(action.call, self.registry.get(action.call.tool), grounding)
            params = self.registry.get(call.tool).parameters_schema()
            call = fill_arguments(call, params, transcript.request)
            call = normalize_arguments(call)
            action = Action(call=call, answer=None, generation=generation)
        return action


_WORD = re.compile(r"[a-z0-9]{3,}")


def drop_ungrounded(call: ToolCall, tool: Tool, grounding: str) -> ToolCall:
    """Remove optional text arguments that nothing in the request or the results mentions.

    Small models fill optional fields with values from the examples ("~/Desktop" for a
    question about free space); the tool's own default is the better guess then. Required
    arguments, and values of other types, are kept as they are; so is a number that appears
    in the request or a result (a pid found by an earlier call).
    """
    required = set(tool.parameters_schema().get("required", []))
    known = set(_WORD.findall(grounding.lower()))
    numbers = set(re.findall(r"\d+", grounding))
    kept = {}
    for name, value in call.arguments.items():
        if name not in required:
            if isinstance(value, str):
                words = _WORD.findall(value.lower())
                if words and not any(word in known for word in words):
                    continue
            elif isinstance(value, int) and not isinstance(value, bool):
                if str(value) not in numbers:
                    continue
        kept[name] = value
    return call if kept == call.arguments else ToolCall(call.tool, kept)


def parse_action(generation: Generation) -> Action:
    """Read the model's JSON; a reply cut off by the token limit keeps what it said."""
    text = generation.text.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        partial = _partial_answer(text)
        if partial is not None:
            return Action(call=None, answer=partial.rstrip() + " …", generation=generation)
        raise TruncatedOutputError(text) from None
    if "answer" in data:
        return Action(call=None, answer=str(data["answer"]).strip(), generation=generation)
    return Action(
        call=ToolCall(tool=data["tool"], arguments=dict(data.get("arguments") or {})),
        answer=None,
        generation=generation,
    )


class TruncatedOutputError(Exception):
    """The model ran out of tokens in the middle of a tool call."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"the model's tool call was cut off after {len(text)} characters: {text[:120]!r}"
        )


_ANSWER_START = re.compile(r'^\s*\{\s*"answer"\s*:\s*"')


def _partial_answer(text: str) -> str | None:
    match = _ANSWER_START.match(text)
    if not match:
        return None
    decoder = JsonStringDecoder()
    return decoder.feed(text[match.end() :])


class JsonStringDecoder:
    """Decodes the inside of a JSON string piece by piece, stopping at its closing quote."""

    def __init__(self) -> None:
        self._pending = ""
        self.done = False

    def feed(self, chunk: str) -> str:
        """Decoded characters that `chunk` completes."""
        out: list[str] = []
        data = self._pending + chunk
        self._pending = ""
        i = 0
        while i < len(data) and not self.done:
            char = data[i]
            if char == '"':
                self.done = True
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            if i + 1 >= len(data):
                self._pending = data[i:]
                break
            code = data[i + 1]
            if code == "u":
                if i + 6 > len(data):
                    self._pending = data[i:]
                    break
                try:
                    out.append(chr(int(data[i + 2 : i + 6], 16)))
                except ValueError:
                    pass
                i += 6
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(code, code))
            i += 2
        return "".join(out)


def repeated_tail(text: str) -> int:
    """Length of a loop at the end of `text` (a piece repeated back to back), or 0.

    Small models fall into loops ("and you can use it, and you can use it, ..."); a piece of
    20+ characters seen twice in a row, or 8+ seen three times, counts as one.
    """
    n = len(text)
    for period in range(8, n // 2 + 1):
        copies = 2 if period >= 20 else 3
        if period * copies > n:
            break
        unit = text[n - period :]
        if all(text[n - k * period : n - (k - 1) * period] == unit for k in range(2, copies + 1)):
            return period * (copies - 1)
    return 0


class AnswerStreamer:
    """Watches a generation: passes on the text of an answer and stops it when it loops."""

    def __init__(self, sink: Callable[[str], None] | None) -> None:
        self._sink = sink
        self._buffer = ""
        self._decoder: JsonStringDecoder | None = None
        self._not_answer = False
        self.answer = ""
        self.looped = False

    def feed(self, piece: str) -> bool:
        """Take one generated piece; returns True when the generation should stop."""
        if self._not_answer:
            return False
        if self._decoder is None:
            self._buffer += piece
            match = _ANSWER_START.match(self._buffer)
            if match is None:
                # The grammar allows only {"tool": ...} or {"answer": ...}.
                self._not_answer = re.sub(r"\s+", "", self._buffer).startswith('{"t')
                return False
            self._decoder = JsonStringDecoder()
            piece = self._buffer[match.end() :]
        text = self._decoder.feed(piece)
        if not text:
            return False
        self.answer += text
        loop = repeated_tail(self.answer)
        if loop:
            self.answer = self.answer[: len(self.answer) - loop]
            self.looped = True
            return True
        if self._sink is not None:
            self._sink(text)
        return False
