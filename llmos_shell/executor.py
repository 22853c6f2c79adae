"""Runs one approved tool call with a time limit and turns every failure into data."""

from __future__ import annotations

import concurrent.futures
import time
import traceback
from typing import Any

import pydantic

from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.errors import ToolError
from llmos_shell.registry import Tool


def execute(
    call: ToolCall, tool: Tool, *, timeout_s: float = 60.0, debug: bool = False
) -> ToolResult:
    """Run `call`; tool errors, bad arguments, crashes and time-outs come back as results."""
    started = time.perf_counter()

    def done(ok: bool, data: Any = None, error: str | None = None) -> ToolResult:
        return ToolResult(
            call=call, ok=ok, data=data, error=error, duration_s=time.perf_counter() - started
        )

    try:
        tool.validate(call.arguments)
    except pydantic.ValidationError as exc:
        return done(False, error=f"invalid arguments for {tool.name}: {describe_validation(exc)}")

    # A worker thread lets the caller stop waiting; the thread itself cannot be killed, so
    # tools that can run long (run_shell) enforce their own time limits as well.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmos-tool")
    future = pool.submit(tool.invoke, call.arguments)
    try:
        data = future.result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        return done(False, error=f"{tool.name} did not finish within {timeout_s:g} s")
    except ToolError as exc:
        return done(False, error=str(exc))
    except pydantic.ValidationError as exc:
        return done(False, error=f"invalid arguments for {tool.name}: {describe_validation(exc)}")
    except Exception as exc:  # a plugin's bug must not end the shell
        detail = "".join(traceback.format_exception(exc)) if debug else ""
        return done(
            False,
            error=f"{tool.name} failed unexpectedly ({type(exc).__name__}: {exc})"
            + (f"\n{detail}" if detail else ""),
        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return done(True, data=data)


def describe_validation(exc: pydantic.ValidationError) -> str:
    """Pydantic's errors as one short line per problem."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
