"""Runs one approved tool call with a time limit and turns every failure into data."""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
import time
import traceback
from typing import Any

import pydantic

from llmos_shell.calls import ToolCall, ToolResult
from llmos_shell.errors import ToolError, describe_validation
from llmos_shell.registry import Tool

_CANCEL_POLL_S = 0.05  # how often a waiting call looks at the cancel event


def execute(
    call: ToolCall,
    tool: Tool,
    *,
    timeout_s: float = 60.0,
    debug: bool = False,
    cancel: threading.Event | None = None,
) -> ToolResult:
    """Run `call`; tool errors, bad arguments, crashes, time-outs and cancels become results."""
    started = time.perf_counter()

    def done(
        ok: bool, data: Any = None, error: str | None = None, cancelled: bool = False
    ) -> ToolResult:
        return ToolResult(
            call=call,
            ok=ok,
            data=data,
            error=error,
            duration_s=time.perf_counter() - started,
            cancelled=cancelled,
        )

    try:
        tool.validate(call.arguments)
    except pydantic.ValidationError as exc:
        return done(False, error=f"invalid arguments for {tool.name}: {describe_validation(exc)}")
    if cancel is not None and cancel.is_set():
        return done(False, error=f"{tool.name} was cancelled before it started", cancelled=True)

    # A worker thread lets the caller stop waiting; the thread itself cannot be killed, so
    # tools that can run long (run_shell) enforce their own time limits as well.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmos-tool")
    # In a copy of this context, so what the caller set (the call the undo journal files
    # changes under) is seen by the tool.
    future = pool.submit(contextvars.copy_context().run, tool.invoke, call.arguments)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return done(False, error=f"{tool.name} did not finish within {timeout_s:g} s")
            try:
                data = future.result(timeout=min(left, _CANCEL_POLL_S) if cancel else left)
                break
            except concurrent.futures.TimeoutError:
                if cancel is not None and cancel.is_set():
                    return done(False, error=f"{tool.name} was cancelled", cancelled=True)
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
