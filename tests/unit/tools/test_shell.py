"""Tests for run_shell: real bash commands, output caps, time limits and process groups.

Tests of what happens to processes on the host run with the sandbox off (`UNSANDBOXED`);
tests/unit/safety/test_sandbox.py checks the same inside bubblewrap.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest

import llmos_tools.shell as shell
from llmos_shell.calls import ExecutionContext, Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry import tools_in_module

UNSANDBOXED = ExecutionContext(sandbox="off")


def test_module_registers_run_shell_with_policy_metadata() -> None:
    found = {t.name: t for t in tools_in_module(shell)}
    assert set(found) == {"run_shell"}
    run = found["run_shell"]
    assert run.risk is Risk.DESTRUCTIVE
    assert run.reversible is False
    assert run.shell_command_arg == "command"
    assert 3 <= len(run.examples) <= 5
    for example in run.examples:
        run.validate(example.arguments)
    for prop, spec in run.parameters_schema()["properties"].items():
        assert spec.get("description"), prop


def test_run_shell_captures_output_and_exit_code() -> None:
    result = shell.run_shell("echo out; echo err >&2; exit 3")
    assert result["stdout"] == "out\n"
    assert result["stderr"] == "err\n"
    assert result["exit_code"] == 3
    assert "truncated" not in result


def test_run_shell_runs_bash_features() -> None:
    result = shell.run_shell("x=(a b c); echo ${#x[@]} $((6 * 7)) | tr -d '\\n'")
    assert result == {**result, "stdout": "3 42", "exit_code": 0}


def test_run_shell_validates_through_the_tool_schema() -> None:
    tool = tools_in_module(shell)[0]
    assert tool.invoke({"command": "printf hi"})["stdout"] == "hi"


def test_run_shell_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    assert shell.run_shell("pwd", cwd=str(tmp_path))["stdout"] == f"{tmp_path}\n"
    assert shell.run_shell("pwd", cwd="~")["stdout"] == f"{home}\n"
    monkeypatch.chdir(tmp_path)
    assert shell.run_shell("pwd")["stdout"] == f"{tmp_path}\n"


def test_run_shell_rejects_bad_cwd(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"cannot run the command in .*nowhere: it does not exist"):
        shell.run_shell("true", cwd=str(tmp_path / "nowhere"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ToolError, match="is not a directory"):
        shell.run_shell("true", cwd=str(tmp_path / "file"))


def test_run_shell_stdin_is_empty() -> None:
    started = time.monotonic()
    result = shell.run_shell("cat; echo done", timeout_s=10)
    assert result["stdout"] == "done\n"
    assert time.monotonic() - started < 5


def test_run_shell_caps_long_output_keeping_head_and_tail() -> None:
    result = shell.run_shell("head -c 200000 /dev/zero | tr '\\0' a; printf END")
    out = result["stdout"]
    assert result["truncated"] is True
    assert result["output_bytes"] == {"stdout": 200_003, "stderr": 0}
    assert out.startswith("a" * 1000) and out.endswith("aEND")
    dropped = 200_003 - shell._HEAD_BYTES - shell._TAIL_BYTES
    assert f"[... {dropped} bytes not shown ...]" in out
    assert len(out) < shell._HEAD_BYTES + shell._TAIL_BYTES + 100


def test_run_shell_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"timed out after 0\.5 s"):
        shell.run_shell(
            f"sleep 60 & echo $! > {pid_file}; wait", timeout_s=0.5, context=UNSANDBOXED
        )
    assert time.monotonic() - started < 8
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the background sleep outlived the timeout")


def test_run_shell_reports_a_signal_death() -> None:
    result = shell.run_shell("kill -KILL $$", context=UNSANDBOXED)
    assert result["exit_code"] == -signal.SIGKILL
    assert result["killed_by_signal"] == "SIGKILL"


@pytest.mark.sandbox
def test_a_signal_death_in_the_sandbox_reads_as_bash_reports_it() -> None:
    result = shell.run_shell("kill -KILL $$")
    assert result["exit_code"] == 128 + signal.SIGKILL


def test_run_shell_returns_when_a_background_child_keeps_the_pipe() -> None:
    started = time.monotonic()
    result = shell.run_shell("sleep 30 & echo $!", timeout_s=20, context=UNSANDBOXED)
    elapsed = time.monotonic() - started
    pid = int(result["stdout"].strip())
    try:
        assert elapsed < 10
        assert result["exit_code"] == 0
        assert "background" in result["note"]
    finally:
        os.kill(pid, signal.SIGKILL)


def test_run_shell_argument_errors() -> None:
    with pytest.raises(ToolError, match="empty"):
        shell.run_shell("   ")
    with pytest.raises(ToolError, match="timeout_s must be between"):
        shell.run_shell("true", timeout_s=0)
    with pytest.raises(ToolError, match="NUL byte"):
        shell.run_shell("echo a\0b")
