"""JSON Lines in, JSON Lines out, for scripts and evaluation: `plan --json -`, `suggest --json -`.

One output line for every input line, in order, even when a line is bad; the model is loaded
once for the whole batch. Input is read as bytes and decoded line by line, so a line that is
not UTF-8 is that line's error, whatever the locale, and never the end of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import IO, Any

from llmos_shell.app import App
from llmos_shell.calls import memories_json
from llmos_shell.errors import LlmosError, TruncatedOutputError
from llmos_shell.planning.planner import Planner, Transcript


def _decoded(raw: str | bytes) -> str:
    """One input line as text; bytes that are not UTF-8 are that line's error."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the line is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})"
        ) from None


def _request_line(line: str, extra: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The request of one input line (a JSON string or object) and its other fields."""
    if not line.strip():
        raise ValueError("the line is empty; give a JSON string or object")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the line is not JSON ({exc.msg} at column {exc.colno})") from None
    if isinstance(data, str):
        return _check_text(data), {}
    if not isinstance(data, dict):
        raise ValueError("the line must be a JSON string or an object with a request")
    request = data.get("request")
    if not isinstance(request, str):
        raise ValueError('the object has no "request" string')
    _check_text(request)
    unknown = set(data) - {"request", *extra}
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(sorted(unknown))}; known: request, {', '.join(extra)}"
        )
    return request, {k: data[k] for k in extra if k in data}


def _check_text(request: str) -> str:
    """A request JSON can spell but no text holds (a lone UTF-16 surrogate) is refused."""
    try:
        request.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"the request holds \\u{ord(request[exc.start]):04x}, half of a UTF-16 surrogate "
            "pair, which is not text; send the whole character"
        ) from None
    return request


def _run(
    lines: Iterable[str | bytes],
    out: IO[str],
    handle: Callable[[str], dict[str, Any]],
    failure: Callable[[str], dict[str, Any]],
) -> int:
    """Apply `handle` to each line and write one JSON line per input; returns the failures."""
    failures = 0
    for raw in lines:
        try:
            result = handle(_decoded(raw).rstrip("\r\n"))
        except (ValueError, LlmosError, TruncatedOutputError) as exc:
            result = failure(str(exc))
        except Exception as exc:  # one bad line must not end the batch
            result = failure(f"internal error: {type(exc).__name__}: {exc}")
        if "error" in result:
            failures += 1
        out.write(_json_line(result, getattr(out, "encoding", None)))
        out.flush()
    return failures


def _json_line(result: dict[str, Any], encoding: str | None) -> str:
    """The result as one JSON line the output can take: escaped where its encoding cannot."""
    text = json.dumps(result, ensure_ascii=False) + "\n"
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(result, ensure_ascii=True) + "\n"  # plain ASCII, still the same JSON
    return text


def plan_batch(app: App, lines: Iterable[str | bytes], out: IO[str]) -> int:
    """`llmos plan --json -`: the planned calls for each request, nothing executed."""
    from llmos_shell.registry.specs import tools_from_specs

    planners: dict[str, Planner] = {}

    def planner_for(tools: Any) -> Planner:
        if tools is None:
            return app.planner
        key = json.dumps(tools, sort_keys=True)
        if key not in planners:
            planners.clear()  # one tool set at a time; its prompt stays in the model's cache
            planners[key] = app.planner_for(tools_from_specs(tools))
        return planners[key]

    session = app.session()

    def handle(line: str) -> dict[str, Any]:
        request, extra = _request_line(line, ("tools",))
        if extra.get("tools") is None:  # llmos's own tools: planned with the memory
            action = session.plan(request)
            calls = [action.call.to_json()] if action.call else []
            return {
                "calls": calls,
                "answer": action.answer,
                "memories": memories_json(session.last_memories),
            }
        action = planner_for(extra.get("tools")).next_action(Transcript(request))
        calls = [action.call.to_json()] if action.call else []
        return {"calls": calls, "answer": action.answer}

    return _run(lines, out, handle, lambda error: {"calls": [], "answer": None, "error": error})


def suggest_batch(app: App, lines: Iterable[str | bytes], out: IO[str]) -> int:
    """`llmos suggest --json -`: one shell command for each request."""

    def handle(line: str) -> dict[str, Any]:
        # "cwd" says where the command will run; the command is written to work there as
        # relative paths do, so it is accepted and checked but not shown to the model.
        request, extra = _request_line(line, ("cwd",))
        if "cwd" in extra and not isinstance(extra["cwd"], str):
            raise ValueError('"cwd" must be a string naming a directory')
        return {"command": app.suggester.suggest(request).command}

    return _run(lines, out, handle, lambda error: {"command": None, "error": error})
