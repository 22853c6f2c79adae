"""The daemon as a person runs it: `llmos daemon start` in the background, real processes.

`kill -9` during a running job and during job adds loses no job, and the cut-off run shows as
interrupted after a restart; a second daemon on the same store refuses while the first runs on.
Every daemon a test starts is stopped by the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from llmos_shell.config import load_config
from llmos_shell.scheduler.location import store_url
from llmos_shell.scheduler.store import Store
from tests.unit.scheduler.conftest import job, shell
from tests.waiting import wait_until

TIMEOUT_S = 60
WAIT_S = 30.0


def llmos(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "llmos_shell.cli", *args],
        env=os.environ.copy(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Wait for `check`, at this module's patience."""
    wait_until(check, what, WAIT_S, every_s=0.1)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")


@pytest.fixture
def store(env: None) -> Store:
    return Store(store_url(load_config()))


@pytest.fixture
def daemons(env: None, tmp_path: Path) -> Iterator[Callable[[], int]]:
    """`start()` runs `llmos daemon start` and returns the pid; all are gone at the end."""
    pids: list[int] = []

    def start() -> int:
        out = llmos("daemon", "start").stdout
        pid = int(out.split("(pid ")[1].split(")")[0])
        pids.append(pid)
        return pid

    yield start
    for pid in pids:
        kill_tree(pid, signal.SIGTERM)


def kill_tree(pid: int, sig: int) -> None:
    """Signal a daemon and everything it started (its shell commands run in their own groups)."""
    try:
        process = psutil.Process(pid)
        children = process.children(recursive=True)
    except psutil.Error:
        return
    for proc in [process, *children]:
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass
    psutil.wait_procs([process, *children], timeout=WAIT_S)
    for proc in children:
        try:
            proc.kill()
        except psutil.Error:
            pass


def test_a_second_daemon_refuses_to_start_and_the_first_keeps_running(
    daemons: Callable[[], int], store: Store
) -> None:
    first = daemons()
    for args in (("daemon", "start"), ("daemon", "run")):
        second = llmos(*args, check=False)
        assert second.returncode == 1
        (line,) = second.stderr.strip().splitlines()
        assert line.startswith(f"llmos: error: another llmos daemon (pid {first} on this machine")
        assert "two would run every job twice" in line
    assert psutil.pid_exists(first)
    assert "llmos daemon is running: pid" in llmos("daemon", "status").stdout
    number = store.add_job(job(shell("echo the first daemon still works")))
    done = llmos("jobs", "run-now", str(number))
    assert "ok — run_shell: the first daemon still works" in done.stdout
    assert store.runs(number)[0].runner == "daemon"
    stopped = llmos("daemon", "stop")
    assert f"llmos daemon (pid {first}) stopped." in stopped.stdout
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
    assert llmos("daemon", "status", check=False).returncode == 1


def test_kill_9_during_a_running_job_loses_no_job_and_shows_the_run_interrupted(
    daemons: Callable[[], int], store: Store
) -> None:
    slow = store.add_job(job(shell("sleep 30"), action="a slow one"))
    other = store.add_job(job(shell("echo still here"), when="every night at 2", action="another"))
    pid = daemons()
    llmos("jobs", "run-now", str(slow), "--no-wait")
    wait_for(lambda: [r.status for r in store.runs(slow)] == ["running"], "the slow run to start")
    kill_tree(pid, signal.SIGKILL)
    assert [r.status for r in store.runs(slow)] == ["running"], "nothing could write after kill -9"
    restarted = daemons()
    assert restarted != pid
    (run,) = store.runs(slow)
    assert run.status == "interrupted"
    assert f"(pid {pid}) stopped before it finished" in run.summary
    history = llmos("jobs", "history", str(slow)).stdout
    assert "interrupted" in history
    wait_for(lambda: set(store.scheduled_times()) == {slow, other}, "both jobs scheduled again")
    assert "ok — run_shell: still here" in llmos("jobs", "run-now", str(other)).stdout
    assert "1 automation ran while you were away" not in history  # the inbox is for the shell


def test_kill_9_during_job_adds_loses_no_job(daemons: Callable[[], int], store: Store) -> None:
    pid = daemons()
    added: list[int] = []
    killed = threading.Event()
    most = 400  # a bound, far above what is added before the daemon schedules the first five

    def keep_adding() -> None:
        """Add jobs one after another until the kill has come, then a few more."""
        after_kill = 0
        while len(added) < most and after_kill < 5:
            added.append(
                store.add_job(job(shell(f"echo job {len(added)}"), action=f"job {len(added)}"))
            )
            after_kill += killed.is_set()
            time.sleep(0.02)  # a person's pace, not a wait: the daemon gets the store between adds

    adder = threading.Thread(target=keep_adding)
    adder.start()
    try:
        wait_for(
            lambda: len(store.scheduled_times()) >= 5, "the daemon to schedule some of the new jobs"
        )
        kill_tree(pid, signal.SIGKILL)
        at_kill = len(added)
    finally:
        killed.set()
        adder.join(timeout=WAIT_S)
    assert not adder.is_alive()
    assert at_kill < most, "every add had finished before the kill: it came too late to test"
    assert len(added) > at_kill, "no add came after the kill"
    daemons()
    wait_for(
        lambda: set(store.scheduled_times()) == set(added), "every job scheduled after the restart"
    )
    assert [record.id for record in store.jobs()] == added
