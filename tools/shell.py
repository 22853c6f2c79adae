"""The shell tool: run one bash command line, with captured output and a hard time limit.

Where bubblewrap runs, the command runs in its sandbox (`llmos_shell.safety.sandbox`): the
file system read-only but for the working folder (where `wall.writable_root` allows it) and
a private, bounded $TMPDIR, its own pids, no network unless the person allowed this call to
use it, and memory, process and file-size limits (`wall.limiter`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from llmos_shell.calls import ExecutionContext, Risk, SandboxLimits
from llmos_shell.errors import ToolError
from llmos_shell.registry import tool
from llmos_shell.safety import sandbox, wall
from llmos_tools._parsing import current_folder, os_error, resolve_path

_HEAD_BYTES = 64 * 1024  # kept from the start of each stream
_TAIL_BYTES = 8 * 1024  # kept from the end of a stream longer than head + tail
_MAX_TIMEOUT_S = 3600.0
_GRACE_S = 1.0  # between SIGTERM and SIGKILL when a command runs out of time
_DRAIN_S = 2.0  # how long to wait for output after the command itself ended
_NO_CONTEXT = ExecutionContext()  # called directly: no network, sandboxed where possible


class _CappedStream:
    """Reads a pipe to its end in a thread, keeping its head and tail and counting the rest."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while chunk := self._pipe.read1(65536):  # type: ignore[attr-defined]
                self.total += len(chunk)
                room = _HEAD_BYTES - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail += chunk
                    del self.tail[:-_TAIL_BYTES]
        except (OSError, ValueError):
            pass  # the pipe was closed under us after a timeout

    @property
    def truncated(self) -> bool:
        """True when the middle of the output was dropped."""
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        """The kept output, with a marker where the middle was left out."""
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        tail = self.tail.decode("utf-8", errors="replace")
        if not self.truncated:
            return head + tail
        dropped = self.total - len(self.head) - len(self.tail)
        return f"{head}\n[... {dropped} bytes not shown ...]\n{tail}"


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """End the command and everything it started: SIGTERM to its group, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # the leader is gone; make sure children that ignored SIGTERM go too
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        return


@tool(
    headline=[
        ("", "{args.command} printed: {stdout}"),
        ("", "exit code {exit_code} from {args.command}"),
    ],
    risk=Risk.DESTRUCTIVE,
    reversible=False,
    shell_command_arg="command",
    examples=[
        (
            "how many lines of python are in this project",
            {"command": "find . -name '*.py' | xargs wc -l | tail -1"},
        ),
        ("show the last 5 git commits", {"command": "git log --oneline -5"}),
        ("compress my logs folder", {"command": "tar czf logs.tar.gz logs", "cwd": "~"}),
        ("run the tests", {"command": "pytest -q", "timeout_s": 300}),
        ("what version of node do I have", {"command": "node --version"}),
    ],
    kinds={"command": "command", "cwd": "path", "timeout_s": "number"},
)
def run_shell(
    command: str,
    cwd: str | None = None,
    timeout_s: float = 30,
    context: ExecutionContext = _NO_CONTEXT,
) -> dict[str, Any]:
    """Run a bash command line and return its output and exit code (when no other tool fits).

    Args:
        command: the command line, run by bash -c
        cwd: the folder to run it in; the current one by default
        timeout_s: stop the command and everything it started after this many seconds
    """
    if not command.strip():
        raise ToolError("the command is empty; give a command line such as 'ls -l'")
    if "\0" in command:
        raise ToolError("the command holds a NUL byte, which no shell command can contain")
    try:
        os.fsencode(command)
    except UnicodeEncodeError as exc:
        raise ToolError(
            f"the command cannot be passed to bash: character {exc.start} is a lone surrogate"
        ) from None
    if not 0 < timeout_s <= _MAX_TIMEOUT_S:
        raise ToolError(
            f"timeout_s must be between 0 and {_MAX_TIMEOUT_S:g} seconds, not {timeout_s}"
        )
    workdir = resolve_path(cwd) if cwd else current_folder()
    try:
        is_dir = workdir.is_dir()
    except OSError as exc:
        raise os_error(exc, workdir, "run the command in") from None
    if not is_dir:
        what = "is not a directory" if os.path.lexists(workdir) else "does not exist"
        raise ToolError(f"cannot run the command in {workdir}: it {what}")
    shell = shutil.which("bash") or "/bin/sh"
    argv = [shell, "-c", command]
    tmp: Path | None = None
    confined: str | None = None  # why the command could not write where it runs
    limits = None
    report: tuple[int, int] | None = None  # the pipe its peak memory comes back on
    if context.sandbox != "off":
        status = sandbox.availability()
        if status.usable:
            tmp = sandbox.private_tmp()
            limits = context.limits
            _, confined = wall.writable_root(workdir, context.read_only, context.may_write)
            report_r, report_w = os.pipe()
            argv = sandbox.command_line(
                wall.measured(argv, report_w),
                workdir=workdir,
                network=context.network,
                bwrap=status.detail,
                read_only=context.read_only,
                private_tmp=tmp,
                may_write=context.may_write,
                limits=limits,
            )
            report = (report_r, report_w)
        elif context.sandbox == "required":
            raise ToolError(
                f"refused to run the command without a sandbox: {status.detail} and the "
                f'sandbox setting is "required"; {sandbox.INSTALL_HINT}'
            )
    try:
        result = _run(argv, shell, workdir, timeout_s, limits, report)
    finally:
        if tmp is not None:
            sandbox.remove_tmp(tmp)
        for fd in report or ():
            with contextlib.suppress(OSError):
                os.close(fd)
    if confined and context.may_write:
        result["sandbox"] = wall.subfolder_hint(workdir, confined)
    return result


def _run(
    argv: list[str],
    shell: str,
    workdir: Path,
    timeout_s: float,
    limits: SandboxLimits | None,
    report: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Run `argv` in `workdir`, within `limits` when given: its capped output and exit code,
    and the limit that stopped it; a time-out is a ToolError."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout can end all of it
            preexec_fn=wall.limiter(limits) if limits is not None else None,
            pass_fds=report[1:] if report else (),
        )
    except OSError as exc:
        raise os_error(exc, shell, "start") from None
    if report is not None:
        os.close(report[1])
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = _CappedStream(process.stdout), _CappedStream(process.stderr)
    try:
        _wait(process, started + timeout_s)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        _finish(process, stdout, stderr)
        raise ToolError(
            f"the command timed out after {timeout_s:g} s and was stopped with everything it "
            "started; give a larger timeout_s if it needs longer"
        ) from None
    except BaseException:  # Ctrl-C in the shell: never leave the command running
        _stop_group(process)
        _finish(process, stdout, stderr)
        raise
    background = _finish(process, stdout, stderr)
    code = process.returncode
    result: dict[str, Any] = {
        "exit_code": code,
        "stdout": stdout.text(),
        "stderr": stderr.text(),
        "duration_s": round(time.monotonic() - started, 2),
    }
    if code < 0:
        result["killed_by_signal"] = signal.Signals(-code).name
    stopped = None
    if limits is not None and report is not None:
        peak_kb = _peak_kb(report[0])
        stopped = wall.stopped_by(limits, code, peak_kb)
        if stopped:
            result["peak_memory_mb"] = round(peak_kb / 1024)
    if stopped:
        result["stopped"] = stopped
    if stdout.truncated or stderr.truncated:
        result["truncated"] = True
        result["output_bytes"] = {"stdout": stdout.total, "stderr": stderr.total}
    if background:
        result["note"] = "it left background processes running that still hold its output"
    return result


def _wait(process: subprocess.Popen[bytes], deadline: float) -> None:
    """Wait for the process until `deadline`; TimeoutExpired then, the process still running."""
    process.wait(timeout=max(0.0, deadline - time.monotonic()))


def _peak_kb(fd: int) -> int:
    """The peak memory (KiB) the waiter reported on `fd`, or 0 when it reported none."""
    os.set_blocking(fd, False)
    try:
        text = os.read(fd, 64)
    except OSError:
        return 0
    return int(text) if text.strip().isdigit() else 0


def _finish(process: subprocess.Popen[bytes], stdout: _CappedStream, stderr: _CappedStream) -> bool:
    """Wait briefly for the output readers; True when a leftover process keeps a pipe open."""
    deadline = time.monotonic() + _DRAIN_S
    for stream in (stdout, stderr):
        stream.thread.join(max(0.0, deadline - time.monotonic()))
    still_open = stdout.thread.is_alive() or stderr.thread.is_alive()
    if not still_open:
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    return still_open
