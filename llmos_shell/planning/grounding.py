"""Arguments grounded in what was said: invented values dropped, stated ones filled in.

A small model picks the right tool and then drops, garbles or invents values. The request
(and the results of earlier steps) are the evidence: optional values nothing mentions are
dropped, values the request states are put in, and every value is written the way the tools
read it best.
"""

from __future__ import annotations

import re

from llmos_shell.calls import ToolCall
from llmos_shell.planning.normalize import normalize_arguments
from llmos_shell.planning.slots import fill_arguments
from llmos_shell.registry import Tool
from llmos_shell.registry.kinds import Kind


def ground_call(call: ToolCall, tool: Tool, request: str, evidence: str) -> ToolCall:
    """The call with ungrounded guesses dropped, stated values filled in, and values tidied.

    `evidence` is everything the values may come from: the request, earlier results and turns.
    """
    call = drop_ungrounded(call, tool, evidence)
    call = fill_arguments(call, tool, request)
    return normalize_arguments(call, tool.kinds)


_WORD = re.compile(r"[a-z0-9]{3,}")


def drop_ungrounded(call: ToolCall, tool: Tool, grounding: str) -> ToolCall:
    """Remove optional text arguments that nothing in the request or the results mentions.

    Small models fill optional fields with values from the examples ("~/Desktop" for a
    question about free space) or copy one value into a second field (the city into the
    country); the tool's own default is the better guess then. Required arguments, values
    that are written rather than copied (contents, commands), and values of other types are
    kept as they are; so is a number that appears in the request or a result (a pid found
    by an earlier call).
    """
    required = set(tool.parameters_schema().get("required", []))
    known = set(_WORD.findall(grounding.lower()))
    numbers = set(re.findall(r"\d+", grounding))
    kept: dict[str, object] = {}
    for name, value in call.arguments.items():
        kind = tool.kinds.get(name, Kind.NAME)
        if name not in required and not kind.free_text:
            if (
                isinstance(value, str)
                and value
                and any(value == other for key, other in call.arguments.items() if key != name)
                and kind is not Kind.PATH
            ):
                continue  # the same words put in a second field: the model's filler
            if isinstance(value, str):
                words = _WORD.findall(value.lower())
                if words and not any(word in known for word in words):
                    continue
            elif isinstance(value, int) and not isinstance(value, bool):
                if str(value) not in numbers:
                    continue
        kept[name] = value
    return call if kept == call.arguments else ToolCall(call.tool, kept)


def restate_places(call: ToolCall, request: str, before: ToolCall | None, asked: str) -> ToolCall:
    """A follow-up that names a new place ("the same for Downloads") gets it where the
    call kept the old one, in any argument: a path, or a path inside a command line.

    `before` is the call of the turn built on and `asked` its request; only places that
    turn named, and this request does not, are replaced.
    """
    from llmos_shell.planning.slots import extract

    new = [path for path, _ in extract(request).places]
    if before is None or len(new) != 1:
        return call
    old = {path for path, _ in extract(asked).places}
    old |= {v for v in before.arguments.values() if (isinstance(v, str) and v in old) or v == "~"}
    old = {o for o in old if o and o != new[0] and o not in request}
    if not old:
        return call
    args = dict(call.arguments)
    for name, value in call.arguments.items():
        if not isinstance(value, str):
            continue
        for place in sorted(old, key=len, reverse=True):
            if value == place or re.search(rf"(?<![\w/~.-]){re.escape(place)}(?![\w/.-])", value):
                value = re.sub(rf"(?<![\w/~.-]){re.escape(place)}(?![\w/.-])", new[0], value)
        args[name] = value
    return call if args == call.arguments else ToolCall(call.tool, args)
