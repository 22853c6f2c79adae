"""The daemon in this process (a thread): real APScheduler on the real SQLite store.

Runs that fell due while no daemon ran meet their misfire policy: run once, late, or recorded
as missed; never dropped without a trace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest

from llmos_shell.app import App
from llmos_shell.scheduler.daemon import Daemon
from llmos_shell.scheduler.spec import make_trigger
from llmos_shell.scheduler.store import JOBS, Store
from tests.unit.scheduler.conftest import PARIS, job, shell
from tests.waiting import wait_until

WAIT_S = 20.0


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Wait for `check`, at this module's patience."""
    wait_until(check, what, WAIT_S)


@pytest.fixture
def daemon(app: App) -> Iterator[Callable[[], Daemon]]:
    """Start a daemon in a thread on demand; it is always stopped at the end."""
    started: list[tuple[Daemon, threading.Thread]] = []

    def start() -> Daemon:
        running = Daemon(app, poll_s=0.1)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        wait_for(lambda: running.scheduler is not None and running.scheduler.running, "the daemon to start")
        started.append((running, thread))
        return running

    yield start
    for running, thread in started:
        running.stop.set()
        thread.join(timeout=WAIT_S)
        assert not thread.is_alive(), "the daemon did not stop"


def created_days_ago(store: Store, number: int, days: int) -> None:
    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    with store.engine.begin() as conn:
        conn.execute(JOBS.update().where(JOBS.c.id == number).values(created_at=stamp))


def test_runs_missed_while_down_run_once_late_when_coalesced(store: Store, daemon: Callable[[], Daemon]) -> None:
    number = store.add_job(job(shell("echo late but done"), when="every day at 9"))
    created_days_ago(store, number, 3)  # three 09:00 runs fell due with no daemon running
    daemon()
    wait_for(lambda: any(r.status == "ok" for r in store.runs(number)), "the late run")
    time.sleep(0.5)
    runs = store.runs(number)
    assert [r.status for r in runs] == ["ok"], "coalesced: one run, not three"
    scheduled = datetime.fromisoformat(runs[0].scheduled_for or "").astimezone(PARIS)
    assert (scheduled.hour, scheduled.minute) == (9, 0)
    assert timedelta(0) < datetime.now(timezone.utc) - scheduled <= timedelta(days=1), "the latest one"


def test_runs_missed_while_down_are_recorded_as_missed_for_a_skip_job(
    store: Store, daemon: Callable[[], Daemon], tmp_path: object
) -> None:
    number = store.add_job(job(shell("echo should not run"), when="every day at 9", misfire="skip"))
    created_days_ago(store, number, 3)
    daemon()
    wait_for(lambda: bool(store.runs(number)), "the missed run to be recorded")
    (run,) = store.runs(number)
    assert run.status == "missed" and run.started_at is None
    assert "the daemon was not running at" in run.summary
    assert store.inbox()[0].title == f"automation {number}: missed"


def test_jobs_added_paused_and_run_now_while_the_daemon_runs(store: Store, daemon: Callable[[], Daemon]) -> None:
    running = daemon()
    number = store.add_job(job(shell("echo asked for"), when="every day at 9"))
    assert running.scheduler is not None
    scheduler = running.scheduler
    wait_for(lambda: scheduler.get_job(f"job-{number}") is not None, "the new job to be scheduled")
    store.set_state(number, "paused")
    wait_for(lambda: scheduler.get_job(f"job-{number}").next_run_time is None, "the pause")
    store.request_run(number)  # a paused job can still be run by hand
    wait_for(lambda: [r.status for r in store.runs(number)] == ["ok"], "the run asked for")
    assert store.runs(number)[0].reason == "run-now"
    store.remove_job(number)
    wait_for(lambda: scheduler.get_job(f"job-{number}") is None, "the removal")


def test_a_one_off_job_due_while_down_runs_once_and_is_finished(
    app: App, store: Store, daemon: Callable[[], Daemon]
) -> None:
    now = datetime.now(PARIS)
    past = make_trigger("date", {"run_date": (now - timedelta(hours=1)).replace(microsecond=0).isoformat()}, now)
    number = store.add_job(job(shell("echo once")).with_trigger(past))
    created_days_ago(store, number, 1)
    first = daemon()
    wait_for(lambda: [r.status for r in store.runs(number)] == ["ok"], "the late one-off run")
    assert store.job(number).state == "finished"
    first.stop.set()
    wait_for(lambda: first.scheduler is not None and not first.scheduler.running, "the first daemon to stop")
    time.sleep(0.3)
    daemon()  # a restart does not run it again
    time.sleep(1.0)
    assert [r.status for r in store.runs(number)] == ["ok"]
