"""The daemon in this process (a thread): real APScheduler on the real SQLite store.

Runs that fell due while no daemon ran meet their misfire policy: run once, late, or recorded
as missed; never dropped without a trace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest

from llmos_shell.app import App
from llmos_shell.scheduler.daemon import Daemon
from llmos_shell.scheduler.jobstore import job_key
from llmos_shell.scheduler.spec import make_trigger
from llmos_shell.scheduler.store import JOBS, Store
from tests.unit.scheduler.conftest import PARIS, job, shell
from tests.waiting import wait_until

WAIT_S = 20.0


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Wait for `check`, at this module's patience."""
    wait_until(check, what, WAIT_S)


class Daemons:
    """Daemons started in threads by a test; every one is stopped at the end."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.started: list[tuple[Daemon, threading.Thread]] = []

    def __call__(self) -> Daemon:
        """Start a daemon; return once it has matched the jobs to their specs and runs them."""
        from apscheduler.schedulers.base import STATE_RUNNING

        running = Daemon(self.app, poll_s=0.1)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        self.started.append((running, thread))
        # Started paused, then resumed once reconciled: running means the jobs are in place.
        wait_for(
            lambda: running.scheduler is not None and running.scheduler.state == STATE_RUNNING,
            "the daemon to start",
        )
        return running

    def stop(self, running: Daemon) -> None:
        """Stop a daemon and wait until it has ended: every run it started has finished."""
        running.stop.set()
        for started, thread in self.started:
            if started is running:
                thread.join(timeout=WAIT_S)
                assert not thread.is_alive(), "the daemon did not stop"


@pytest.fixture
def daemon(app: App) -> Iterator[Daemons]:
    """Start daemons in threads on demand; they are always stopped at the end."""
    daemons = Daemons(app)
    yield daemons
    for running, _ in daemons.started:
        daemons.stop(running)


def _due_later(running: Daemon, number: int) -> bool:
    """Whether the daemon has handled every run of job `number` due by now (its next is later)."""
    assert running.scheduler is not None
    job = running.scheduler.get_job(job_key(number))
    return (
        job is not None
        and job.next_run_time is not None
        and job.next_run_time > datetime.now(timezone.utc)
    )


def created_days_ago(store: Store, number: int, days: int) -> None:
    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    with store.engine.begin() as conn:
        conn.execute(JOBS.update().where(JOBS.c.id == number).values(created_at=stamp))


def test_runs_missed_while_down_run_once_late_when_coalesced(store: Store, daemon: Daemons) -> None:
    number = store.add_job(job(shell("echo late but done"), when="every day at 9"))
    created_days_ago(store, number, 3)  # three 09:00 runs fell due with no daemon running
    running = daemon()
    wait_for(lambda: any(r.status == "ok" for r in store.runs(number)), "the late run")
    wait_for(lambda: _due_later(running, number), "the daemon to handle every run due by now")
    daemon.stop(running)  # it ends once every run it started has finished
    runs = store.runs(number)
    assert [r.status for r in runs] == ["ok"], "coalesced: one run, not three"
    scheduled = datetime.fromisoformat(runs[0].scheduled_for or "").astimezone(PARIS)
    assert (scheduled.hour, scheduled.minute) == (9, 0)
    assert timedelta(0) < datetime.now(timezone.utc) - scheduled <= timedelta(days=1), (
        "the latest one"
    )


def test_runs_missed_while_down_are_recorded_as_missed_for_a_skip_job(
    store: Store, daemon: Daemons, tmp_path: object
) -> None:
    number = store.add_job(job(shell("echo should not run"), when="every day at 9", misfire="skip"))
    created_days_ago(store, number, 3)
    daemon()
    wait_for(lambda: bool(store.runs(number)), "the missed run to be recorded")
    (run,) = store.runs(number)
    assert run.status == "missed" and run.started_at is None
    assert "the daemon was not running at" in run.summary
    assert store.inbox()[0].title == f"automation {number}: missed"


def test_jobs_added_paused_and_run_now_while_the_daemon_runs(store: Store, daemon: Daemons) -> None:
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
    app: App, store: Store, daemon: Daemons
) -> None:
    now = datetime.now(PARIS)
    past = make_trigger(
        "date", {"run_date": (now - timedelta(hours=1)).replace(microsecond=0).isoformat()}, now
    )
    number = store.add_job(job(shell("echo once")).with_trigger(past))
    created_days_ago(store, number, 1)
    first = daemon()
    wait_for(lambda: [r.status for r in store.runs(number)] == ["ok"], "the late one-off run")
    assert store.job(number).state == "finished"
    daemon.stop(first)
    second = daemon()  # a restart does not run it again: the finished job is not scheduled
    assert second.scheduler is not None
    assert second.scheduler.get_job(job_key(number)) is None
    daemon.stop(second)  # anything it had started would have finished by now
    assert [r.status for r in store.runs(number)] == ["ok"]
