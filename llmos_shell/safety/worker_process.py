"""The tool worker: a child process that runs one tool call at a time for the executor.

    python -m llmos_shell.safety.worker_process FD PARENT_PID

It reads calls from the socket FD and answers each with one reply; the executor kills it
(and everything it started) when a call runs out of time or is cancelled. Each call brings
the shell's current folder, and its environment and import path when they changed, so a
tool sees what it would see in the shell's own process. A tool is found again by its module
and name: plugin files by their path, everything else by importing the module.

Messages: ("call", ...) and ("preload", tools, import path), which imports the tools' modules
ahead and is not answered. Replies: ("ok", data), ("tool_error", ToolError), ("invalid", text), ("crash", type name,
message, traceback), ("unresolved", why) when the tool cannot be found here.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import tempfile
import traceback
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1
_functions: dict[tuple[str, str, str | None], Any] = {}


def _die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this process when the thread that started it ends (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent went before the request above took hold


def _resolve(ref: tuple[str, str, str | None]) -> Any:
    """The tool's function, by module and qualified name (plugin files by path)."""
    if ref in _functions:
        return _functions[ref]
    module_name, qualname, file = ref
    module = sys.modules.get(module_name)
    if module is None:
        if file is not None:
            from pathlib import Path

            from llmos_shell.registry.discovery import import_plugin_file

            module = import_plugin_file(Path(file))
        else:
            module = importlib.import_module(module_name)
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part)
    function = getattr(found, "func", found)  # a Tool holds the plain function
    if not callable(function):
        raise TypeError(f"{module_name}.{qualname} is not callable")
    _functions[ref] = function
    return function


def _enter_folder(cwd: str | None) -> None:
    """Work in the shell's folder; if it has none (deleted), have none here either."""
    if cwd is not None:
        try:
            os.chdir(cwd)
            return
        except OSError:
            pass
    gone = tempfile.mkdtemp(prefix="llmos-gone-")
    os.chdir(gone)
    os.rmdir(gone)


def _preload(message: tuple[Any, ...]) -> None:
    _, refs, path = message
    sys.path[:] = path
    for ref in refs:
        try:
            _resolve(ref)
        except BaseException:  # reported when the tool is called, if it still fails then
            pass


def _run(message: tuple[Any, ...]) -> tuple[Any, ...]:
    _, ref, values, context_arg, context, cwd, env, path = message
    if path is not None:
        sys.path[:] = path
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    _enter_folder(cwd)
    try:
        function = _resolve(ref)
    except BaseException as exc:  # cannot be found here: the executor runs it itself
        return ("unresolved", f"{type(exc).__name__}: {exc}")
    if context_arg is not None:
        values = {**values, context_arg: context}
    from llmos_shell.errors import ToolError
    from llmos_shell.safety.undo import filed_under

    try:
        with filed_under(getattr(context, "undo_call", None)):
            return ("ok", function(**values))
    except ToolError as exc:
        return ("tool_error", exc)
    except BaseException as exc:  # a plugin's bug, even sys.exit, must reach the executor
        return _crash(exc)


def _crash(exc: BaseException) -> tuple[Any, ...]:
    import pydantic

    if isinstance(exc, pydantic.ValidationError):
        from llmos_shell.errors import describe_validation

        return ("invalid", describe_validation(exc))
    detail = "".join(traceback.format_exception(exc))
    return ("crash", type(exc).__name__, str(exc), detail)


def _send(conn: Connection, reply: tuple[Any, ...]) -> None:
    try:
        conn.send(reply)
    except Exception as exc:  # the reply does not pickle: say so instead
        if reply[0] == "tool_error":
            from llmos_shell.errors import ToolError

            conn.send(("tool_error", ToolError(str(reply[1]))))
            return
        conn.send(("crash", type(exc).__name__, f"its result cannot be passed back ({exc})", ""))


def main(argv: list[str]) -> int:
    """Serve calls until the executor closes the socket."""
    conn = Connection(int(argv[0]))
    _die_with_parent(int(argv[1]))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return 0
        if message[0] == "preload":
            _preload(message)
        else:
            _send(conn, _run(message))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
