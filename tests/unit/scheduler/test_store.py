"""The job store on a real SQLite file: specs as JSON, the run log, the inbox, APScheduler's rows."""

from __future__ import annotations

import json
import pickle

import sqlalchemy as sa

from llmos_shell.calls import Risk
from llmos_shell.scheduler import jobstore
from llmos_shell.scheduler.spec import JobSpec
from llmos_shell.scheduler.store import JOBS, Store
from tests.unit.scheduler.conftest import job, shell


def test_a_job_is_stored_as_plain_json_and_read_back_whole(store: Store) -> None:
    spec = job(shell("df -h"), when="every night at 2")
    number = store.add_job(spec)
    with store.engine.connect() as conn:
        raw = conn.execute(sa.select(JOBS.c.spec).where(JOBS.c.id == number)).scalar()
    data = json.loads(raw)
    assert data["trigger"] == {
        "kind": "cron",
        "fields": {"hour": "2", "minute": "0"},
        "text": "every day at 02:00",
        "timezone": "Europe/Paris",
    }
    assert data["calls"] == [{"tool": "run_shell", "arguments": {"command": "df -h"}}]
    assert data["approved"]["risk"] == "read-only"
    assert data["misfire"] == {"policy": "run-once", "grace_s": None}
    assert store.job(number).spec == spec


def test_a_damaged_spec_is_reported_and_never_trusted(store: Store) -> None:
    number = store.add_job(job(shell("df -h")))
    bad = json.loads(store.job(number).spec.dumps())  # type: ignore[union-attr]
    bad["approved"]["risk"] = "harmless"
    with store.engine.begin() as conn:
        conn.execute(JOBS.update().where(JOBS.c.id == number).values(spec=json.dumps(bad)))
    record = store.job(number)
    assert record.spec is None
    assert record.error == "the approved risk 'harmless' is not a known risk"


def test_pause_resume_remove_change_the_revision_the_daemon_watches(store: Store) -> None:
    number = store.add_job(job(shell("df -h")))
    seen = store.revision()
    store.set_state(number, "paused")
    assert store.job(number).state == "paused" and store.revision() > seen
    store.remove_job(number)
    assert store.jobs() == []


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(store: Store) -> None:
    number = store.add_job(job(shell("df -h")))
    run = store.start_run(number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert [r.status for r in store.runs(number)] == ["running"]
    assert store.mark_interrupted(lambda pid, host, runner: False) == [run]
    (entry,) = store.runs(number)
    assert entry.status == "interrupted" and "stopped before it finished" in entry.summary
    assert [e.title for e in store.inbox()] == [f"automation {number}: interrupted"]


def test_the_scheduler_state_is_json_and_a_pickle_is_never_loaded(store: Store) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    number = store.add_job(job(shell("df -h")))
    scheduler = BackgroundScheduler(jobstores={"default": jobstore.JsonJobStore(store.engine)})
    scheduler.start(paused=True)
    try:
        from llmos_shell.scheduler.daemon import reconcile

        reconcile(scheduler, store)
        with store.engine.connect() as conn:
            state = conn.execute(sa.text(f"SELECT job_state FROM {jobstore.TABLE}")).scalar()
        decoded = json.loads(state)
        assert decoded["func"] == jobstore.RUNNER and decoded["args"] == [number]
        assert decoded["trigger"]["fields"] == {
            "day_of_week": "mon-fri",
            "hour": "9",
            "minute": "0",
        }
        # A row someone wrote as a pickle is dropped, never unpickled; the spec puts the job back.
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE {jobstore.TABLE} SET job_state = :s"),
                {"s": pickle.dumps({"version": 1})},
            )
        assert scheduler.get_jobs(jobstore="default") == []
        reconcile(scheduler, store)
        assert [j.id for j in scheduler.get_jobs(jobstore="default")] == [jobstore.job_key(number)]
    finally:
        scheduler.shutdown(wait=False)


def test_a_job_that_fell_due_while_no_daemon_ran_is_due_at_once(store: Store) -> None:
    from datetime import datetime, timedelta, timezone

    from apscheduler.schedulers.background import BackgroundScheduler

    from llmos_shell.scheduler.daemon import reconcile

    number = store.add_job(job(shell("df -h"), when="every day at 9"))
    two_days_ago = (datetime.now(timezone.utc) - timedelta(days=2)).isoformat(timespec="seconds")
    with store.engine.begin() as conn:
        conn.execute(JOBS.update().where(JOBS.c.id == number).values(created_at=two_days_ago))
    scheduler = BackgroundScheduler(jobstores={"default": jobstore.JsonJobStore(store.engine)})
    scheduler.start(paused=True)
    try:
        reconcile(scheduler, store)
        (scheduled,) = scheduler.get_jobs(jobstore="default")
        assert scheduled.next_run_time < datetime.now(timezone.utc) - timedelta(hours=12)
        assert scheduled.misfire_grace_time is None and scheduled.coalesce
    finally:
        scheduler.shutdown(wait=False)


def test_a_skip_job_keeps_a_short_grace_time(store: Store) -> None:
    spec = job(shell("df -h"), misfire="skip")
    assert spec.grace_s == 60
    assert JobSpec.loads(spec.dumps()).misfire == "skip"
    assert JobSpec.loads(spec.dumps()).approved_risk is Risk.READ_ONLY
