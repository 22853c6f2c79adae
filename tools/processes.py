"""Process tools: list running programs and stop them."""

from __future__ import annotations

import contextlib
import os
import signal as signals
import time
from typing import Any, Literal

import psutil

from llmos_shell.calls import Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry import tool
from llmos_shell.vocabulary.units import human_size

_CPU_SAMPLE_S = 0.2  # one shared sampling window for every process, not one per process
_COMMAND_SHOWN = 120  # characters of a command line kept in a listing
_KILL_WAIT_S = 1.0


def _snapshot(proc: psutil.Process) -> dict[str, Any] | None:
    """What a listing shows of one process, or None when it is gone."""
    try:
        with proc.oneshot():
            name = proc.name()
            try:
                user = proc.username()
            except (psutil.AccessDenied, KeyError):
                user = ""  # KeyError: a uid with no passwd entry, common in containers
            try:
                rss = proc.memory_info().rss
                memory = proc.memory_percent()
            except psutil.AccessDenied:
                rss, memory = 0, 0.0
            try:
                command = " ".join(proc.cmdline())
            except (psutil.AccessDenied, psutil.ZombieProcess):
                command = ""
            status = proc.status()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return {
        "pid": proc.pid,
        "name": name,
        "user": user,
        "cpu_percent": 0.0,
        "memory_percent": round(memory, 1),
        "rss": rss,
        "rss_human": human_size(rss),
        "status": status,
        "command": command[:_COMMAND_SHOWN] + ("…" if len(command) > _COMMAND_SHOWN else ""),
    }


@tool(
    headline=[
        (
            "sort_by=memory",
            "{first.name} (pid {first.pid}) uses the most memory: {first.rss_human} of {count} processes",
        ),
        (
            "sort_by=cpu",
            "{first.name} (pid {first.pid}) is the busiest at {first.cpu_percent}% CPU of {count} processes",
        ),
        ("", "{count} processes; the first: {first.name} (pid {first.pid})"),
        ("", "no process matches {args.name}"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("what's using all my cpu", {"sort_by": "cpu", "limit": 10}),
        ("top memory hogs", {"sort_by": "memory", "limit": 10}),
        ("is firefox running", {"name": "firefox"}),
        ("show python processes", {"name": "python", "sort_by": "pid"}),
        ("ps aux", {"sort_by": "pid", "limit": 100}),
    ],
    kinds={"name": "process", "limit": "count"},
)
def list_processes(
    sort_by: Literal["cpu", "memory", "pid", "name"] = "cpu",
    name: str | None = None,
    limit: int = 25,
) -> dict[str, Any]:
    """List running processes with their CPU and memory use, busiest first.

    Args:
        sort_by: cpu or memory (highest first), pid, or name
        name: only processes whose name or command line contains this text (any case)
        limit: the most processes to return
    """
    if limit < 1:
        raise ToolError(f"limit must be at least 1, not {limit}")
    needle = name.lower() if name else None
    procs: list[psutil.Process] = []
    for proc in psutil.process_iter():
        try:
            proc.cpu_percent(None)  # starts the sampling window for this process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        procs.append(proc)
    time.sleep(_CPU_SAMPLE_S)
    rows: list[dict[str, Any]] = []
    for proc in procs:
        row = _snapshot(proc)
        if row is None:
            continue
        if needle and needle not in row["name"].lower() and needle not in row["command"].lower():
            continue
        try:
            row["cpu_percent"] = round(proc.cpu_percent(None), 1)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        rows.append(row)
    if sort_by == "cpu":
        rows.sort(key=lambda row: (-row["cpu_percent"], -row["rss"]))
    elif sort_by == "memory":
        rows.sort(key=lambda row: -row["rss"])
    elif sort_by == "name":
        rows.sort(key=lambda row: (row["name"].lower(), row["pid"]))
    else:
        rows.sort(key=lambda row: row["pid"])
    return {
        "processes": rows[:limit],
        "count": len(rows),
        "truncated": len(rows) > limit,
        "cpu_count": psutil.cpu_count() or 1,
    }


def _protected_pids() -> dict[int, str]:
    """Processes never stopped: init, this one, and every process above it.

    Tools run in a worker process of the shell, so the shell itself is a parent, and the
    terminal's shell above it; stopping any of them would end this session.
    """
    protected = {
        1: "it is the init process; stopping it would bring the system down",
        os.getpid(): "it is this shell itself",
    }
    try:
        ancestors = [proc.pid for proc in psutil.Process().parents()]
    except psutil.Error:
        ancestors = [os.getppid()]
    for pid in ancestors:
        protected.setdefault(pid, "it is this shell, or a program this shell runs under")
    return protected


def _gone(proc: psutil.Process) -> bool:
    try:
        status: str = proc.status()  # psutil has no type information
        zombie: str = psutil.STATUS_ZOMBIE
        return status == zombie
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


@tool(
    headline=[
        ("", "stopped {first.name} (pid {first.pid}) with {signal}"),
        ("", "signalled pid {signalled.0} with {signal}; it is still running"),
    ],
    risk=Risk.DESTRUCTIVE,
    reversible=False,
    examples=[
        ("kill process 4242", {"pid": 4242}),
        ("firefox is frozen, kill it hard", {"name": "firefox", "signal": "KILL"}),
        ("stop all the sleep processes", {"name": "sleep"}),
        ("kill -9 31337", {"pid": 31337, "signal": "KILL"}),
    ],
    kinds={"pid": "pid", "name": "process"},
)
def kill_process(
    pid: int | None = None,
    name: str | None = None,
    signal: Literal["TERM", "KILL"] = "TERM",
) -> dict[str, Any]:
    """Stop a process by its pid, or every process with exactly a given name.

    Args:
        pid: the process id to stop
        name: stop every process with exactly this name (as list_processes shows it)
        signal: TERM asks the process to quit; KILL forces it at once
    """
    if (pid is None) == (not name):
        raise ToolError("give either a pid or a process name, not both and not neither")
    protected = _protected_pids()
    targets: list[psutil.Process] = []
    refused: list[dict[str, Any]] = []
    if pid is not None:
        if pid <= 0:
            raise ToolError(f"pid must be a positive number, not {pid}")
        if pid in protected:
            raise ToolError(f"refusing to stop pid {pid}: {protected[pid]}")
        try:
            targets.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            raise ToolError(f"there is no process with pid {pid}") from None
    else:
        for proc in psutil.process_iter(["name"]):
            if proc.info["name"] != name:
                continue
            if proc.pid in protected:
                refused.append({"pid": proc.pid, "reason": protected[proc.pid]})
                continue
            targets.append(proc)
        if not targets:
            if refused:
                raise ToolError(f"refusing to stop {name!r}: {refused[0]['reason']}")
            raise ToolError(
                f"no running process is named exactly {name!r}; "
                "use list_processes to find its exact name or pid"
            )
    number = signals.SIGKILL if signal == "KILL" else signals.SIGTERM
    signalled: list[psutil.Process] = []
    failures: list[str] = []
    names: dict[int, str] = {}
    for proc in targets:
        with contextlib.suppress(psutil.Error):
            names[proc.pid] = proc.name()
        try:
            proc.send_signal(number)
            signalled.append(proc)
        except psutil.NoSuchProcess:
            continue  # it ended on its own meanwhile
        except psutil.AccessDenied:
            failures.append(f"pid {proc.pid}: permission denied")
    if not signalled and failures:
        what = f"pid {pid}" if pid is not None else f"{name!r}"
        raise ToolError(
            f"cannot stop {what}: permission denied (it belongs to another user; "
            "it would need sudo)"
        )
    deadline = time.monotonic() + _KILL_WAIT_S
    while time.monotonic() < deadline and not all(_gone(proc) for proc in signalled):
        time.sleep(0.05)
    stopped = [proc.pid for proc in signalled if _gone(proc)]
    result: dict[str, Any] = {
        "signal": signal,
        # what was stopped, by name, so the answer can say "stopped sleep (pid 4242)"
        "processes": [
            {"pid": proc.pid, "name": names.get(proc.pid, "")}
            for proc in signalled
            if proc.pid in stopped
        ],
        "signalled": [proc.pid for proc in signalled],
        "stopped": stopped,
        "still_running": [proc.pid for proc in signalled if proc.pid not in stopped],
    }
    if failures:
        result["failed"] = failures
    if refused:
        result["refused"] = refused
    if result["still_running"] and signal == "TERM":
        result["note"] = "some processes have not quit yet; signal KILL forces them"
    return result
