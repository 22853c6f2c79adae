"""The bubblewrap sandbox of run_shell, run for real: what a command can and cannot reach.

In the style of Codex's Linux sandbox tests: reading is allowed, the working folder is
writable, writing anywhere else fails, a connection to a loopback canary started here fails
(and succeeds when the call may use the network), a timed-out command leaves no process
behind. Each check that something is blocked has a twin showing the same command does get
through without the sandbox, so the test cannot pass by the command failing for another
reason. Where bubblewrap cannot run, these are skipped with the reason (failed under
LLMOS_REQUIRE_SANDBOX=1, as in CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from llmos_shell.calls import ExecutionContext, SandboxLimits, ToolCall
from llmos_shell.errors import ToolError
from llmos_shell.registry import tools_in_module
from llmos_shell.safety.executor import execute
from llmos_shell.safety.sandbox import command_line
from llmos_tools import shell

pytestmark = pytest.mark.sandbox
SANDBOXED = ExecutionContext(sandbox="required")
UNSANDBOXED = ExecutionContext(sandbox="off")
RUN_SHELL = tools_in_module(shell)[0]


def run(
    command: str, cwd: Path, context: ExecutionContext = SANDBOXED, **kw: Any
) -> dict[str, Any]:
    result: dict[str, Any] = shell.run_shell(command, cwd=str(cwd), context=context, **kw)
    return result


class Canary:
    """A TCP server on loopback that records every connection and what it was sent."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\ncanary")
                except OSError:
                    data = b""
                self.received.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def outside() -> Iterator[Path]:
    """A folder the test can write to that lies outside /tmp."""
    for base in ("/var/tmp", str(Path.home())):
        if os.access(base, os.W_OK):
            folder = Path(tempfile.mkdtemp(prefix="llmos-sandbox-test-", dir=base))
            yield folder
            shutil.rmtree(folder, ignore_errors=True)
            return
    pytest.skip("no writable folder outside /tmp to test writes against")


def leftovers(marker: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in " ".join(proc.info["cmdline"] or ()):
            found.append(proc.pid)
    return found


def gone(marker: str, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not leftovers(marker):
            return True
        time.sleep(0.05)
    return False


def test_reading_is_allowed(work: Path) -> None:
    first_line = Path(__file__).read_text().splitlines()[0]
    result = run(f"head -1 {__file__}; ls /usr/bin | head -3 | wc -l", work)
    assert result["exit_code"] == 0, result
    assert result["stdout"] == f"{first_line}\n3\n"


def test_the_working_folder_is_writable(work: Path) -> None:
    result = run("echo hi > made.txt && mkdir sub && echo there > sub/more.txt", work)
    assert result["exit_code"] == 0, result
    assert (work / "made.txt").read_text() == "hi\n"
    assert (work / "sub" / "more.txt").read_text() == "there\n"


def test_writing_outside_the_working_folder_fails(work: Path, outside: Path) -> None:
    target = outside / "escaped.txt"
    result = run(f"echo blah > {target}", work)
    assert result["exit_code"] != 0
    assert "Read-only file system" in result["stderr"]
    assert not target.exists()
    # the same command, unsandboxed, does write there: the failure above is the sandbox's
    assert run(f"echo blah > {target}", work, UNSANDBOXED)["exit_code"] == 0
    assert target.read_text() == "blah\n"


def test_dev_null_is_writable(work: Path) -> None:
    assert run("echo blah > /dev/null", work)["exit_code"] == 0


def test_tmp_can_be_read_not_written_and_tmpdir_is_private(work: Path, tmp_path: Path) -> None:
    name = f"/tmp/llmos-private-{uuid.uuid4().hex}"
    (tmp_path / "host-only.txt").write_text("host\n")
    result = run(f"cat {tmp_path}/host-only.txt; echo inside > {name}", work)
    assert result["stdout"] == "host\n"  # the real /tmp is seen, so its files can be read
    assert "Read-only file system" in result["stderr"]  # and not written: a clear failure
    assert not os.path.exists(name)
    before = set(Path(tempfile.gettempdir()).glob("llmos-sandbox-tmp-*"))
    result = run('echo inside > "$TMPDIR/scratch" && ls "$TMPDIR"', work)
    assert result["exit_code"] == 0 and result["stdout"] == "scratch\n", result
    # nothing it left there outlives it
    assert "tmp_kept" not in result
    assert set(Path(tempfile.gettempdir()).glob("llmos-sandbox-tmp-*")) <= before


def test_tmpdir_is_bounded_and_removed_when_the_command_ends(work: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("llmos-sandbox-tmp-*"))
    small = ExecutionContext(sandbox="required", limits=SandboxLimits(tmp_mb=1))
    result = run('head -c 3000000 /dev/zero > "$TMPDIR/big"', work, small)
    assert result["exit_code"] != 0 and "No space left" in result["stderr"], result
    result = run('f=$(mktemp) && echo scratch > "$f" && ls "$TMPDIR"', work)
    assert result["exit_code"] == 0 and result["stdout"] != "", result
    assert set(Path(tempfile.gettempdir()).glob("llmos-sandbox-tmp-*")) <= before


def test_a_connection_to_a_loopback_canary_fails(work: Path, canary: Canary) -> None:
    python = sys.executable
    for command in (
        f"echo hi > /dev/tcp/127.0.0.1/{canary.port}",
        f"curl -s --max-time 3 http://127.0.0.1:{canary.port}/",
        f"{python} -c \"import socket; socket.create_connection(('127.0.0.1', {canary.port}), 3)\"",
    ):
        result = run(command, work, timeout_s=20)
        assert result["exit_code"] != 0, (command, result)
    time.sleep(0.3)
    assert canary.received == []


def test_a_call_allowed_the_network_reaches_the_canary(work: Path, canary: Canary) -> None:
    context = ExecutionContext(sandbox="required", network=True)
    result = run(f"curl -s --max-time 5 http://127.0.0.1:{canary.port}/", work, context)
    assert result["exit_code"] == 0, result
    assert result["stdout"] == "canary"
    assert canary.received and canary.received[0].startswith(b"GET / ")


def test_the_command_sees_only_its_own_processes(work: Path) -> None:
    me = os.getpid()
    result = run(f"kill -0 {me}; echo $?; ls /proc | grep -c '^[0-9]'", work)
    status, count = result["stdout"].split()
    assert status != "0"  # this test's process does not exist in there
    assert int(count) < 10
    assert run(f"kill -0 {me}; echo $?", work, UNSANDBOXED)["stdout"] == "0\n"


def test_no_new_privileges_and_no_capabilities(work: Path) -> None:
    result = run("grep -E '^(NoNewPrivs|CapEff):' /proc/self/status", work)
    assert "NoNewPrivs:\t1" in result["stdout"]
    assert "CapEff:\t0000000000000000" in result["stdout"]


def test_a_timed_out_command_leaves_no_process_behind(work: Path) -> None:
    marker = f"43{uuid.uuid4().int % 10**6:06d}"
    command = (
        f"sleep {marker}.1 & setsid sleep {marker}.2 & "
        f"(trap '' TERM HUP; exec sleep {marker}.3) & sleep {marker}.4"
    )
    with pytest.raises(ToolError, match="timed out"):
        run(command, work, timeout_s=1)
    assert gone(marker), f"left running: {leftovers(marker)}"


def test_a_command_the_executor_stops_leaves_no_process_behind(work: Path) -> None:
    marker = f"44{uuid.uuid4().int % 10**6:06d}"
    command = f"setsid sleep {marker}.1 & (trap '' TERM; exec sleep {marker}.2) & wait"
    call = ToolCall("run_shell", {"command": command, "cwd": str(work), "timeout_s": 300})
    result = execute(call, RUN_SHELL, timeout_s=2, context=SANDBOXED)
    assert not result.ok and "was stopped" in (result.error or "")
    assert gone(marker), f"left running: {leftovers(marker)}"


def test_background_processes_end_with_the_command(work: Path) -> None:
    marker = f"45{uuid.uuid4().int % 10**6:06d}"
    result = run(f"setsid sleep {marker} & echo started", work, timeout_s=20)
    assert result["stdout"] == "started\n"
    assert "note" not in result  # nothing kept the output open
    assert gone(marker)


def test_llmos_folders_and_startup_files_stay_read_only(
    tmp_path: Path, isolated_dirs: Path
) -> None:
    home = isolated_dirs  # HOME; the llmos dirs lie beside it in tmp_path
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('sandbox = "required"\n')
    (home / ".bashrc").write_text("# mine\n")
    # tmp_path holds them all, so nothing in it is writable: only $TMPDIR is
    result = run(
        "echo 'sandbox = \"off\"' > config/config.toml; echo x >> home/.bashrc; "
        "echo ok > home/notes.txt",
        tmp_path,
    )
    assert "Read-only file system" in result["stderr"]
    assert (tmp_path / "config" / "config.toml").read_text() == 'sandbox = "required"\n'
    assert (home / ".bashrc").read_text() == "# mine\n"
    assert not (home / "notes.txt").exists()
    assert "run it in a subfolder" in result["sandbox"]
    project = home / "project"
    project.mkdir()
    result = run("echo ok > notes.txt", project)  # a folder that holds none of them is
    assert (project / "notes.txt").read_text() == "ok\n" and "sandbox" not in result


def test_the_root_folder_is_never_made_writable(outside: Path) -> None:
    target = outside / "from-root.txt"
    result = run(f"echo x > {target}", Path("/"))
    assert result["exit_code"] != 0 and not target.exists()


def test_the_command_line_hides_the_network_only_when_not_allowed(work: Path) -> None:
    closed = command_line(["true"], workdir=work, network=False)
    opened = command_line(["true"], workdir=work, network=True)
    assert "--unshare-net" in closed and "--unshare-net" not in opened
    for line in (closed, opened):
        assert line[:5] == ["bwrap", "--ro-bind", "/", "/", "--dev"]
        assert {"--unshare-pid", "--die-with-parent", "--new-session"} <= set(line)
        binds = [line[i + 1 : i + 3] for i, word in enumerate(line) if word == "--bind"]
        assert binds == [[str(work), str(work)]]


def test_the_session_opens_the_network_only_for_an_approved_network_call(
    work: Path, canary: Canary
) -> None:
    from llmos_shell.backends.scripted import ScriptedBackend
    from llmos_shell.planning.planner import Planner
    from llmos_shell.registry import Registry
    from llmos_shell.safety.policy import PolicyOptions
    from llmos_shell.safety.sandbox import ShellSandbox
    from llmos_shell.session import Session

    registry = Registry()
    registry.add(RUN_SHELL, source="built-in:shell")
    session = Session(
        Planner(ScriptedBackend(), registry),
        registry,
        options=PolicyOptions(yes_writes=True, yes_destructive=True),
        sandbox=ShellSandbox("required"),
    )

    def ran(command: str) -> dict[str, Any]:
        step = session.run_call(
            ToolCall("run_shell", {"command": command, "cwd": str(work)}), request=command
        )
        assert step.result is not None and step.result.ok, step
        data: dict[str, Any] = step.result.data
        return data

    # rated destructive (it also deletes), approved by --yes-destructive: no network
    both = ran(f"curl -s --max-time 3 http://127.0.0.1:{canary.port}/; rm -f gone.txt")
    assert "canary" not in both["stdout"]
    assert canary.received == []
    # rated network, approved by --yes: the network is there
    fetched = ran(f"curl -s --max-time 5 http://127.0.0.1:{canary.port}/")
    assert fetched["stdout"] == "canary"
    assert len(canary.received) == 1


def test_a_working_folder_inside_llmos_folders_is_not_writable(tmp_path: Path) -> None:
    plugins = tmp_path / "config" / "plugins"  # LLMOS_CONFIG_DIR is tmp_path/config
    plugins.mkdir(parents=True)
    result = run("echo 'import os' > planted.py", plugins)
    assert result["exit_code"] != 0 and "Read-only file system" in result["stderr"]
    assert not (plugins / "planted.py").exists()


def test_paths_the_session_names_stay_read_only(work: Path) -> None:
    plugins = work / "my-plugins"
    plugins.mkdir()
    (work / "sub").mkdir()
    context = ExecutionContext(sandbox="required", read_only=(str(plugins),))
    result = run("echo x > my-plugins/planted.py; echo y > other.txt", work, context)
    assert "Read-only file system" in result["stderr"]
    assert not (plugins / "planted.py").exists()
    assert not (work / "other.txt").exists()  # the folder holding them is not writable
    result = run("echo y > other.txt", work / "sub", context)
    assert (work / "sub" / "other.txt").read_text() == "y\n"
