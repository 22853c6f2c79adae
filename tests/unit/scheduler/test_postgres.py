"""The job store, the lock and the daemon on a real PostgreSQL server started for these tests.

The server runs from Debian's `postgresql` binaries on a loopback port, in a throw-away data
folder, as the `postgres` user when the tests run as root. Without the binaries the tests are
skipped, saying why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

from llmos_shell.app import App
from llmos_shell.config import load_config
from llmos_shell.scheduler import jobstore
from llmos_shell.scheduler.daemon import Daemon, refusal
from llmos_shell.scheduler.lock import StoreLock, held_elsewhere
from llmos_shell.scheduler.store import Store
from tests.unit.scheduler.conftest import job, shell

START_TIMEOUT_S = 60


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL server on 127.0.0.1 for this module; stopped and deleted after."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip(
            "PostgreSQL's server (initdb, pg_ctl) is not installed: apt-get install postgresql"
        )
    pytest.importorskip(
        "psycopg", reason="psycopg is not installed: pip install 'llmos-shell[postgres]'"
    )
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("the tests run as root and there is no postgres user to run the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = tempfile.mkdtemp(prefix="llmos-pg-")
    data = os.path.join(folder, "data")
    if as_user:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_user, *command],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}{done.stderr}"

    try:
        run(initdb, "-D", data, "-A", "trust", "-U", "llmos", "-E", "UTF8", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} -c fsync=off"
        run(
            pg_ctl,
            "-D",
            data,
            "-o",
            options,
            "-l",
            os.path.join(folder, "server.log"),
            "-w",
            "start",
        )
        yield f"postgresql://llmos@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_app(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> App:
    """An app whose job store is the test server, emptied first."""
    monkeypatch.setenv("LLMOS_JOBS_DATABASE_URL", postgres_url)
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")
    store = Store(postgres_url)
    with store.engine.begin() as conn:
        import sqlalchemy as sa

        for table in ("llmos_jobs", "llmos_runs", "llmos_inbox", "llmos_meta", jobstore.TABLE):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    return App(config=load_config())


def test_the_store_keeps_jobs_runs_and_the_inbox_on_postgresql(
    pg_app: App, postgres_url: str
) -> None:
    store = Store(postgres_url)
    spec = job(shell("echo on postgres"))
    number = store.add_job(spec)
    assert store.job(number).spec == spec
    run = store.start_run(number, reason="scheduled", scheduled_for=None, runner="daemon")
    store.finish_run(run, status="ok", summary="fine", detail=[], duration_s=0.1)
    assert [(r.status, r.summary) for r in store.runs(number)] == [("ok", "fine")]
    assert [e.title for e in store.inbox()] == [f"automation {number}: ok"]


def test_the_advisory_lock_lets_one_daemon_hold_a_postgresql_store(
    pg_app: App, postgres_url: str
) -> None:
    first, second = StoreLock(postgres_url), StoreLock(postgres_url)
    assert first.acquire()
    try:
        assert not second.acquire()
        assert held_elsewhere(postgres_url)
        assert first.still_held()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_a_daemon_runs_jobs_from_postgresql_and_a_second_one_refuses(
    pg_app: App, postgres_url: str
) -> None:
    store = Store(postgres_url)
    number = store.add_job(job(shell("echo from the postgres daemon")))
    daemon = Daemon(pg_app, poll_s=0.1)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (daemon.scheduler and daemon.scheduler.running) and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(Exception, match="already runs the automations") as caught:
            Daemon(App(config=load_config())).run()
        assert str(caught.value) == refusal(postgres_url, store.holder())
        store.request_run(number)
        while not any(r.status == "ok" for r in store.runs(number)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [r.summary for r in store.runs(number)] == ["run_shell: from the postgres daemon"]
        assert number in store.scheduled_times()
    finally:
        daemon.stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
