"""The executor runs tools in worker processes it can kill: time limits and cancels stop the work.

The tools here are real plugins: a file in a plugin folder (imported by path, as a user's
plugin is), a module on the import path (as an entry point's is), and the built-ins.
"""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from llmos_shell.calls import ExecutionContext, Risk, ToolCall, ToolResult
from llmos_shell.registry import Registry, Tool, discover, tool
from llmos_shell.safety.executor import execute
from llmos_shell.safety.worker import WorkerPool, tool_ref
from tests.waiting import appears

PLUGIN = '''
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from llmos_shell.calls import ExecutionContext
from llmos_shell.errors import InvalidValueError, ToolError
from llmos_shell.registry import tool


@tool
def where_am_i(context: ExecutionContext) -> dict:
    """Say which process, folder, environment and context this runs with."""
    return {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "marker": os.environ.get("LLMOS_TEST_MARKER"),
        "network": context.network,
        "sandbox": context.sandbox,
    }


@tool
def complain(kind: str) -> dict:
    """Fail in the way asked for."""
    if kind == "tool":
        raise ToolError("the thing is missing; give another thing")
    if kind == "value":
        raise InvalidValueError("cannot read 'soon' as a time")
    if kind == "bug":
        return {}["no such key"]
    if kind == "exit":
        sys.exit(3)
    if kind == "abort":
        os._exit(7)
    if kind == "say-and-abort":
        sys.stderr.write("Traceback...\\nRuntimeError: the reason it ended\\n")
        sys.stderr.flush()
        os._exit(5)
    if kind == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if kind == "unpicklable":
        return {"lock": __import__("threading").Lock()}
    return {"nested": [1, (2, 3), {"four": 4.0}], "text": "é\\udcff", "none": None}


@tool(risk="write")
def write_to_fifo(path: str) -> dict:
    """Write to a path, blocking for good when it is a FIFO nobody reads."""
    with open(path, "w") as handle:
        handle.write("x")
    return {"written": path}


@tool
def sleep_then_mark(folder: str, seconds: float) -> dict:
    """Mark a folder at the start, sleep, and mark it again at the end."""
    Path(folder, "started").touch()
    time.sleep(seconds)
    Path(folder, "finished").touch()
    return {"slept": seconds}
'''

MODULE = '''
from llmos_shell.registry import tool


@tool
def double(number: int) -> int:
    """Double a number."""
    return 2 * number
'''


@pytest.fixture
def plugins(tmp_path: Path) -> Registry:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "probe.py").write_text(textwrap.dedent(PLUGIN))
    registry = discover(folder, builtins=False)
    assert not registry.warnings
    return registry


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool()
    yield workers
    workers.close()


def run(
    registry: Registry, name: str, pool: WorkerPool, timeout_s: float = 20, **arguments: Any
) -> ToolResult:
    return execute(ToolCall(name, arguments), registry.get(name), timeout_s=timeout_s, pool=pool)


def test_a_plugin_file_runs_in_a_worker_with_the_shells_folder_and_environment(
    plugins: Registry, pool: WorkerPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLMOS_TEST_MARKER", "one")
    first = run(plugins, "where_am_i", pool)
    assert first.ok, first.error
    assert first.data["pid"] != os.getpid()
    assert first.data["cwd"] == str(tmp_path)
    assert first.data["marker"] == "one"
    monkeypatch.setenv("LLMOS_TEST_MARKER", "two")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    second = run(plugins, "where_am_i", pool)
    assert second.data["pid"] == first.data["pid"]  # the same worker, kept between calls
    assert (second.data["cwd"], second.data["marker"]) == (str(tmp_path / "elsewhere"), "two")


def test_the_context_reaches_the_tool_but_not_its_schema(
    plugins: Registry, pool: WorkerPool
) -> None:
    where = plugins.get("where_am_i")
    assert where.parameters_schema()["properties"] == {}
    context = ExecutionContext(network=True, sandbox="required")
    result = execute(ToolCall("where_am_i", {}), where, context=context, pool=pool)
    assert (result.data["network"], result.data["sandbox"]) == (True, "required")
    plain = execute(ToolCall("where_am_i", {}), where, pool=pool)
    assert (plain.data["network"], plain.data["sandbox"]) == (False, "auto")


def test_results_and_tool_errors_come_back_intact(plugins: Registry, pool: WorkerPool) -> None:
    fine = run(plugins, "complain", pool, kind="none")
    assert fine.ok
    assert fine.data == {"nested": [1, (2, 3), {"four": 4.0}], "text": "é\udcff", "none": None}
    tool_error = run(plugins, "complain", pool, kind="tool")
    assert tool_error.error == "the thing is missing; give another thing"
    value_error = run(plugins, "complain", pool, kind="value")
    assert value_error.error == "cannot read 'soon' as a time"
    bug = run(plugins, "complain", pool, kind="bug")
    assert bug.error == "complain failed unexpectedly (KeyError: 'no such key')"
    unpicklable = run(plugins, "complain", pool, kind="unpicklable")
    assert "failed unexpectedly" in (unpicklable.error or "")
    assert "cannot be passed back" in (unpicklable.error or "")


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("exit", "SystemExit: 3"),
        ("abort", "its process exited with status 7"),
        ("say-and-abort", "its process exited with status 5: RuntimeError: the reason it ended"),
        ("segfault", "its process was killed by SIGSEGV"),
    ],
)
def test_a_tool_that_ends_its_process_is_reported_and_the_next_call_works(
    plugins: Registry, pool: WorkerPool, kind: str, said: str
) -> None:
    result = run(plugins, "complain", pool, kind=kind)
    assert not result.ok and said in (result.error or "")
    assert "failed unexpectedly" in (result.error or "")
    assert run(plugins, "complain", pool, kind="none").ok


def test_a_write_to_a_fifo_is_stopped_at_the_time_limit_with_its_worker(
    plugins: Registry, pool: WorkerPool, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    before = run(plugins, "where_am_i", pool).data["pid"]
    started = time.monotonic()
    result = run(plugins, "write_to_fifo", pool, timeout_s=1, path=str(fifo))
    assert time.monotonic() - started < 6
    assert result.error == (
        "write_to_fifo did not finish within 1 s and was stopped, with everything it started "
        "(tool_timeout_s in the config sets this limit)"
    )
    assert not psutil.pid_exists(before) or psutil.Process(before).status() == "zombie"
    after = run(plugins, "where_am_i", pool)
    assert after.ok and after.data["pid"] != before  # a fresh worker took over


def test_a_catastrophic_regex_is_stopped_and_the_shell_keeps_running(
    tmp_path: Path, pool: WorkerPool
) -> None:
    (tmp_path / "evil.txt").write_text("a" * 40 + "!\n")
    search = discover(None).get("search_text")
    ticks = 0
    stop = threading.Event()

    def tick() -> None:  # runs only while this process can run Python (holds the GIL)
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    call = ToolCall("search_text", {"pattern": "(a+)+$", "path": str(tmp_path), "regex": True})
    started = time.monotonic()
    result = execute(call, search, timeout_s=1.5, pool=pool)
    elapsed = time.monotonic() - started
    stop.set()
    ticker.join()
    assert (
        result.error is not None and "did not finish within 1.5 s and was stopped" in result.error
    )
    assert elapsed < 6
    assert ticks > 50  # the shell's own threads ran all along


def test_cancel_stops_the_work_not_only_the_waiting(
    plugins: Registry, pool: WorkerPool, tmp_path: Path
) -> None:
    cancel = threading.Event()
    threading.Thread(
        target=lambda: appears(tmp_path / "started") and cancel.set(), daemon=True
    ).start()
    call = ToolCall("sleep_then_mark", {"folder": str(tmp_path), "seconds": 2})
    result = execute(call, plugins.get("sleep_then_mark"), cancel=cancel, pool=pool)
    assert result.cancelled and result.error == "sleep_then_mark was cancelled"
    assert not appears(tmp_path / "finished", timeout_s=3.5)


def test_a_module_on_the_import_path_runs_in_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: WorkerPool
) -> None:
    """Entry-point plugins are modules found by name; the worker imports them the same way."""
    package = tmp_path / "site" / "llmos_probe_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tools.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    import importlib

    module = importlib.import_module("llmos_probe_pkg.tools")
    registry = Registry()
    registry.add_module(module, "plugin:probe")
    try:
        assert tool_ref(registry.get("double")) == ("llmos_probe_pkg.tools", "double", None)
        result = run(registry, "double", pool, number=21)
        assert result.ok and result.data == 42
    finally:
        for name in ("llmos_probe_pkg.tools", "llmos_probe_pkg"):
            sys.modules.pop(name, None)


def test_tools_a_worker_cannot_import_run_in_this_process(pool: WorkerPool) -> None:
    @tool(risk=Risk.READ_ONLY)
    def local_probe(context: ExecutionContext) -> dict[str, Any]:
        """Say which process this runs in."""
        return {"pid": os.getpid(), "cancel_seen": context.cancel is not None}

    @tool(risk=Risk.READ_ONLY, in_process=True)
    def declared_probe() -> int:
        """Say which process this runs in."""
        return os.getpid()

    assert tool_ref(local_probe) is None
    cancel = threading.Event()
    local = execute(ToolCall("local_probe", {}), local_probe, cancel=cancel, pool=pool)
    assert local.data == {"pid": os.getpid(), "cancel_seen": True}
    declared = execute(ToolCall("declared_probe", {}), declared_probe, pool=pool)
    assert declared.data == os.getpid()


def test_an_in_process_tool_that_runs_too_long_says_it_may_still_run(pool: WorkerPool) -> None:
    release = threading.Event()

    @tool(in_process=True)
    def stuck() -> None:
        """Wait for a while."""
        release.wait(10)

    result = execute(ToolCall("stuck", {}), stuck, timeout_s=0.3, pool=pool)
    release.set()
    assert result.error == (
        "stuck did not finish within 0.3 s (it runs in the shell's own process and may still "
        "be running)"
    )


def test_builtins_all_have_a_worker_reference() -> None:
    builtins: list[Tool] = list(discover(None))
    assert builtins and all(tool_ref(item) is not None for item in builtins)
