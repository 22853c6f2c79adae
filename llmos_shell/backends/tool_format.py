"""The model's own tool-call format, for models whose chat template has a tools branch.

Models trained for tool use (Qwen2.5/3, Hermes, Llama 3.x, Mistral) read tools and write
calls the way their chat template shows them. Such a model is given the offered tools
through its template, and its call is constrained to its own wrapping (`<tool_call>` ...
`</tool_call>` for Qwen and Hermes), with the JSON inside held to the same schema as any
call. What it writes is turned back into the planner's one action form,
`{"tool": ..., "arguments": ...}` or `{"answer": ...}`, so nothing above the backend
changes. Models without such a template (SmolLM2) keep the planner's JSON format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmos_shell.backends.gbnf import Grammar, gbnf_literal, schema_to_gbnf

MAX_ANSWER_CHARS = 2000


@dataclass(frozen=True)
class ToolFormat:
    """How one family of chat templates wraps a tool call."""

    name: str
    marker: str  # text in the chat template that identifies the family
    call_prefix: str
    call_suffix: str
    name_key: str = "name"
    arguments_key: str = "arguments"

    def calls_schema(self, action: dict[str, Any]) -> dict[str, Any] | None:
        """The schema of this format's call JSON for the call options of an action schema."""
        options = action.get("oneOf", [action])
        calls = []
        for option in options:
            props = option.get("properties", {})
            if "tool" not in props:
                continue
            calls.append(
                {
                    "type": "object",
                    "properties": {
                        self.name_key: props["tool"],
                        self.arguments_key: props.get("arguments", {}),
                    },
                    "required": [self.name_key, self.arguments_key],
                    "additionalProperties": False,
                }
            )
        if not calls:
            return None
        return calls[0] if len(calls) == 1 else {"oneOf": calls}

    def grammar(self, action: dict[str, Any]) -> Grammar:
        """A grammar for a call in this format, or a plain-words answer, as `action` allows."""
        options = action.get("oneOf", [action])
        allows_answer = any("answer" in o.get("properties", {}) for o in options)
        rules: list[str] = []
        alternatives: list[str] = []
        longest = 0
        calls = self.calls_schema(action)
        if calls is not None:
            inner = schema_to_gbnf(calls)
            # The call grammar's rules, its root renamed so both fit in one grammar.
            # Nothing in a converted grammar refers to its root, so renaming the rule is enough.
            rules.append(re.sub(r"(?m)^root ::=", "call-json ::=", inner.text))
            alternatives.append(
                f"{gbnf_literal(self.call_prefix)} call-json {gbnf_literal(self.call_suffix)}"
            )
            longest = len(self.call_prefix) + inner.max_chars + len(self.call_suffix)
        if allows_answer:
            first = "[^<{\\[ \\t\\n\\x00-\\x1F]"  # an answer does not start like a call
            rules.append(f"answer ::= {first} [^\\x00]{{0,{MAX_ANSWER_CHARS - 1}}}")
            alternatives.append("answer")
            longest = max(longest, MAX_ANSWER_CHARS * 4)
        if not alternatives:
            raise ValueError("an action schema needs at least one tool or the answer")
        text = "\n".join([f"root ::= {' | '.join(alternatives)}", *rules])
        return Grammar(text=text, max_chars=longest)

    def to_action(self, text: str) -> str:
        """What the model wrote, as the planner's action JSON (cut-off calls stay as they
        are, so the planner says they were cut off)."""
        stripped = text.strip()
        prefix = self.call_prefix.strip()
        if prefix and not stripped.startswith(prefix):
            return json.dumps({"answer": stripped}, ensure_ascii=False)
        if not prefix and not stripped.startswith("{"):
            return json.dumps({"answer": stripped}, ensure_ascii=False)
        inner = stripped[len(prefix) :]
        suffix = self.call_suffix.strip()
        if suffix and suffix in inner:
            inner = inner[: inner.index(suffix)]
        try:
            call = json.loads(inner)
        except json.JSONDecodeError:
            return stripped
        if isinstance(call, list) and call:  # formats that write a list of calls
            call = call[0]
        if not isinstance(call, dict) or self.name_key not in call:
            return stripped
        arguments = call.get(self.arguments_key) or {}
        return json.dumps({"tool": call[self.name_key], "arguments": arguments}, ensure_ascii=False)

    def translator(self, sink: Callable[[str], bool | None] | None) -> Callable[[str], bool | None]:
        """An `on_text` that passes what the model streams on in the action JSON form."""
        state = {"buffer": "", "mode": ""}
        prefix = self.call_prefix.strip() or "{"

        def feed(piece: str) -> bool | None:
            if sink is None:
                return None
            if state["mode"] == "answer":
                return sink(json.dumps(piece, ensure_ascii=False)[1:-1])
            if state["mode"] == "call":
                return sink(piece)
            state["buffer"] += piece
            head = state["buffer"].lstrip()
            if head.startswith(prefix):
                state["mode"] = "call"
                return sink('{"tool": ' + head[len(prefix) :])
            if prefix.startswith(head):
                return None  # not decided yet
            state["mode"] = "answer"
            return sink('{"answer": "' + json.dumps(head, ensure_ascii=False)[1:-1])

        return feed


FORMATS: tuple[ToolFormat, ...] = (
    ToolFormat("hermes", "<tool_call>", "<tool_call>\n", "\n</tool_call>"),
    ToolFormat("mistral", "[TOOL_CALLS]", "[TOOL_CALLS] [", "]"),
    ToolFormat(
        "llama3", '"parameters": dictionary of argument name', "", "", arguments_key="parameters"
    ),
)


def detect(template: str | None) -> ToolFormat | None:
    """The tool format of a chat template, or None when it has no tools branch we know."""
    if not template or "tools" not in template:
        return None
    return next((fmt for fmt in FORMATS if fmt.marker in template), None)


def openai_tools(definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool definitions (name, description, parameters) as chat templates expect them."""
    return [{"type": "function", "function": d} for d in definitions]
