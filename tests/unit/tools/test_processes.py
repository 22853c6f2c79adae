"""Tests for the process tools, against real child processes this test starts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import llmos_tools.processes as processes
from llmos_shell.calls import Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry import tools_in_module


def test_module_registers_process_tools_with_their_risk() -> None:
    found = {t.name: t for t in tools_in_module(processes)}
    assert set(found) == {"list_processes", "kill_process"}
    assert found["list_processes"].risk is Risk.READ_ONLY
    assert found["kill_process"].risk is Risk.DESTRUCTIVE
    assert found["kill_process"].reversible is False
    for t in found.values():
        assert 3 <= len(t.examples) <= 5
        for example in t.examples:
            t.validate(example.arguments)
        for prop, spec in t.parameters_schema()["properties"].items():
            assert spec.get("description"), f"{t.name}.{prop}"


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start children through a list; every one left running is killed afterwards."""
    children: list[subprocess.Popen[bytes]] = []
    yield children
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)


def start(children: list[subprocess.Popen[bytes]], *argv: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    children.append(child)
    return child


def named_sleeper(tmp_path: Path) -> str:
    """A copy of `sleep` under a name no other process on this machine has."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    name = f"lt{uuid.uuid4().hex[:10]}"
    shutil.copy(sleep, tmp_path / name)
    return str(tmp_path / name)


def test_list_processes_finds_this_python_process() -> None:
    me = psutil.Process()
    result = processes.list_processes(sort_by="pid", name=me.name(), limit=100_000)
    mine = [row for row in result["processes"] if row["pid"] == os.getpid()]
    assert len(mine) == 1
    row = mine[0]
    assert row["name"] == me.name()
    # The test process may hold a model or torch: its size varies, its unit must not lie.
    assert row["rss"] > 1_000_000
    assert row["rss_human"].endswith(" GB" if row["rss"] >= 999_950_000 else " MB")
    assert 0 < row["memory_percent"] < 100
    assert "pytest" in row["command"] or "python" in row["command"]
    assert [r["pid"] for r in result["processes"]] == sorted(r["pid"] for r in result["processes"])
    json.dumps(result)


def test_list_processes_measures_cpu(spawn: list[subprocess.Popen[bytes]]) -> None:
    busy = start(spawn, sys.executable, "-c", "while True: pass")
    idle = start(spawn, sys.executable, "-c", "import time; time.sleep(60)")
    result = processes.list_processes(sort_by="cpu", name=sys.executable, limit=100_000)
    rows = {row["pid"]: row for row in result["processes"]}
    assert busy.pid in rows and idle.pid in rows
    assert rows[busy.pid]["cpu_percent"] > 5
    assert rows[idle.pid]["cpu_percent"] < rows[busy.pid]["cpu_percent"]
    order = [row["pid"] for row in result["processes"]]
    assert order.index(busy.pid) < order.index(idle.pid)


def test_list_processes_filter_sort_and_limit(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    sleeper = named_sleeper(tmp_path)
    pids = {start(spawn, sleeper, "60").pid for _ in range(3)}
    name = Path(sleeper).name
    result = processes.list_processes(name=name.upper(), sort_by="pid")
    assert {row["pid"] for row in result["processes"]} == pids
    assert result["count"] == 3 and result["truncated"] is False
    limited = processes.list_processes(name=name, sort_by="name", limit=2)
    assert len(limited["processes"]) == 2 and limited["truncated"] is True
    by_memory = processes.list_processes(sort_by="memory", limit=20)["processes"]
    assert [r["rss"] for r in by_memory] == sorted((r["rss"] for r in by_memory), reverse=True)
    with pytest.raises(ToolError, match="at least 1"):
        processes.list_processes(limit=0)


def test_kill_process_by_pid_with_term(spawn: list[subprocess.Popen[bytes]]) -> None:
    child = start(spawn, "sleep", "60")
    result = processes.kill_process(pid=child.pid)
    assert result["signalled"] == [child.pid] and result["stopped"] == [child.pid]
    assert result["still_running"] == []
    assert child.wait(timeout=5) == -signal.SIGTERM


def test_kill_process_with_kill_signal_even_if_term_is_ignored(
    spawn: list[subprocess.Popen[bytes]],
) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    spawn.append(child)
    assert child.stdout is not None and child.stdout.readline() == b"1\n"
    stubborn = processes.kill_process(pid=child.pid)
    assert stubborn["still_running"] == [child.pid]
    assert "KILL" in stubborn["note"]
    forced = processes.kill_process(pid=child.pid, signal="KILL")
    assert forced["stopped"] == [child.pid]
    assert child.wait(timeout=5) == -signal.SIGKILL


def test_kill_process_by_exact_name(spawn: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    sleeper = named_sleeper(tmp_path)
    children = [start(spawn, sleeper, "60") for _ in range(2)]
    name = Path(sleeper).name
    with pytest.raises(ToolError, match="no running process is named exactly"):
        processes.kill_process(name=name[:-1])  # a prefix is not the name
    result = processes.kill_process(name=name)
    assert sorted(result["stopped"]) == sorted(child.pid for child in children)
    for child in children:
        assert child.wait(timeout=5) == -signal.SIGTERM


def test_kill_process_refuses_protected_pids() -> None:
    for pid in (1, os.getpid(), os.getppid()):
        with pytest.raises(ToolError, match=f"refusing to stop pid {pid}"):
            processes.kill_process(pid=pid)
    assert psutil.pid_exists(os.getppid())


def test_kill_process_by_name_skips_protected_pids(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # killing by this interpreter's own name could hit other people's programs, so a uniquely
    # named child stands in for "this shell" here
    sleeper = named_sleeper(tmp_path)
    guarded, other = start(spawn, sleeper, "60"), start(spawn, sleeper, "60")
    real = processes._protected_pids
    monkeypatch.setattr(
        processes, "_protected_pids", lambda: {**real(), guarded.pid: "it is this shell itself"}
    )
    result = processes.kill_process(name=Path(sleeper).name)
    assert result["stopped"] == [other.pid]
    assert result["refused"] == [{"pid": guarded.pid, "reason": "it is this shell itself"}]
    assert guarded.poll() is None
    other.wait(timeout=5)
    with pytest.raises(ToolError, match=r"refusing to stop .*: it is this shell itself"):
        processes.kill_process(name=Path(sleeper).name)
    assert guarded.poll() is None


def test_kill_process_argument_errors() -> None:
    with pytest.raises(ToolError, match="either a pid or a process name"):
        processes.kill_process()
    with pytest.raises(ToolError, match="either a pid or a process name"):
        processes.kill_process(pid=123, name="x")
    with pytest.raises(ToolError, match="positive"):
        processes.kill_process(pid=-1)
    with pytest.raises(ToolError, match="no process with pid"):
        processes.kill_process(pid=2**31 - 1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may signal every process")
def test_kill_process_permission_denied() -> None:
    others = [
        p.pid
        for p in psutil.process_iter(["uids"])
        if p.pid > 1 and p.info["uids"] is not None and p.info["uids"].real == 0
    ]
    if not others:
        pytest.skip("no process of another user to try")
    with pytest.raises(ToolError, match="permission denied"):
        processes.kill_process(pid=others[0])


def test_kill_process_reports_permission_denied_from_the_os(
    spawn: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # as root nothing is denied, so the OS's refusal is simulated at psutil's boundary
    child = start(spawn, "sleep", "60")

    def denied(self: psutil.Process, sig: int) -> None:
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "send_signal", denied)
    with pytest.raises(ToolError, match=f"cannot stop pid {child.pid}: permission denied"):
        processes.kill_process(pid=child.pid)
    assert child.poll() is None


def test_kill_process_in_a_worker_refuses_the_shell_and_what_it_runs_under() -> None:
    """Run by the executor, the tool is in a worker process: the shell is its parent."""
    from llmos_shell.calls import ToolCall
    from llmos_shell.safety.executor import execute

    [kill] = [t for t in tools_in_module(processes) if t.name == "kill_process"]
    for pid in (os.getpid(), os.getppid()):
        result = execute(ToolCall("kill_process", {"pid": pid}), kill)
        assert (result.error or "").startswith(f"refusing to stop pid {pid}: it is this shell")
    assert psutil.pid_exists(os.getppid())
