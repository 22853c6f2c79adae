"""Runs one approved tool call with a time limit and turns every failure into data.

A call runs in a worker process (`worker`), so that running out of time or a cancel stops
the work itself, not only the waiting: the worker is killed with everything it started, and
the next call gets a fresh one. Tools declared `in_process`, and tools a worker cannot import
(defined inside a function or in `__main__`), run in a thread of this process instead, where
a time-out or a cancel only stops the waiting; they see the cancel in their ExecutionContext.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import dataclasses
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import pydantic

from llmos_shell.calls import ExecutionContext, ToolCall, ToolResult
from llmos_shell.errors import ToolError, describe_validation
from llmos_shell.registry import Tool
from llmos_shell.safety import undo
from llmos_shell.safety.worker import Stopped, WorkerPool, shared_pool, tool_ref

_CANCEL_POLL_S = 0.05  # how often a waiting call looks at the cancel event
# Tools that a worker could not find; they run in this process from then on.
_unresolved: set[tuple[str, str, str | None]] = set()


def execute(
    call: ToolCall,
    tool: Tool,
    *,
    timeout_s: float = 60.0,
    debug: bool = False,
    cancel: threading.Event | None = None,
    context: ExecutionContext | None = None,
    pool: WorkerPool | None = None,
) -> ToolResult:
    """Run `call`; tool errors, bad arguments, crashes, time-outs and cancels become results.

    `context` says what the person allowed (the network, the sandbox setting); `pool` holds
    the worker processes (the process's shared one by default).
    """
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
        model = tool.validate(call.arguments)
    except pydantic.ValidationError as exc:
        return done(False, error=f"invalid arguments for {tool.name}: {describe_validation(exc)}")
    if cancel is not None and cancel.is_set():
        return done(False, error=f"{tool.name} was cancelled before it started", cancelled=True)
    context = dataclasses.replace(
        context or ExecutionContext(), cancel=cancel, undo_call=undo.current_call()
    )
    deadline = time.monotonic() + timeout_s
    ref = None if tool.in_process else tool_ref(tool)
    if ref is not None and ref not in _unresolved:
        values = {name: getattr(model, name) for name in type(model).model_fields}
        reply = (pool or shared_pool()).run(
            ref,
            values,
            tool.context_arg,
            dataclasses.replace(context, cancel=None, services=None),  # neither crosses processes
            deadline,
            cancel,
        )
        if isinstance(reply, Stopped):
            if reply.why == "timeout":
                return done(
                    False,
                    error=f"{tool.name} did not finish within {timeout_s:g} s and was stopped, "
                    "with everything it started (tool_timeout_s in the config sets this limit)",
                )
            if reply.why == "cancelled":
                return done(False, error=f"{tool.name} was cancelled", cancelled=True)
            return done(False, error=f"{tool.name} failed unexpectedly ({reply.detail})")
        kind = reply[0]
        if kind == "ok":
            return done(True, data=reply[1])
        if kind == "tool_error":
            return done(False, error=str(reply[1]))
        if kind == "invalid":
            return done(False, error=f"invalid arguments for {tool.name}: {reply[1]}")
        if kind == "crash":
            _, name, message, detail = reply
            return done(
                False,
                error=f"{tool.name} failed unexpectedly ({name}: {message})"
                + (f"\n{detail}" if debug and detail else ""),
            )
        _unresolved.add(ref)  # "unresolved": the worker cannot import it; run it here
    return _in_thread(tool, call, context, deadline, timeout_s, debug, done)


def _in_thread(
    tool: Tool,
    call: ToolCall,
    context: ExecutionContext,
    deadline: float,
    timeout_s: float,
    debug: bool,
    done: Callable[..., ToolResult],
) -> ToolResult:
    """Run the tool in a thread of this process; a time-out or cancel stops only the waiting."""
    cancel = context.cancel
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmos-tool")
    # In a copy of this context, so what the caller set (the call the undo journal files
    # changes under) is seen by the tool.
    future = pool.submit(contextvars.copy_context().run, tool.invoke, call.arguments, context)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return done(
                    False,
                    error=f"{tool.name} did not finish within {timeout_s:g} s "
                    "(it runs in the shell's own process and may still be running)",
                )
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
    except (Exception, SystemExit) as exc:  # a plugin's bug must not end the shell
        detail = "".join(traceback.format_exception(exc)) if debug else ""
        return done(
            False,
            error=f"{tool.name} failed unexpectedly ({type(exc).__name__}: {exc})"
            + (f"\n{detail}" if detail else ""),
        )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return done(True, data=data)
