"""APScheduler's SQLAlchemy job store, keeping JSON instead of pickles.

APScheduler 3 pickles each job's state (its trigger, function and arguments). Here the state
is plain JSON: the one stable runner function, the job's number, the trigger spec in
APScheduler's field names, and the misfire settings. A row that is not what llmos wrote is
never executed: it is dropped from the scheduler, and the job spec (in `llmos_jobs`) puts the
job back, so renaming code or a damaged row never loses a job.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy.exc import IntegrityError

from llmos_shell.errors import SpecError
from llmos_shell.scheduler import triggers
from llmos_shell.scheduler.spec import TriggerSpec

TABLE = "llmos_scheduled"
RUNNER = "llmos_shell.scheduler.runner:run_scheduled"
STATE_VERSION = 1
_PREFIX = "job-"
log = logging.getLogger("llmos.scheduler")


def job_key(number: int) -> str:
    """The APScheduler id of job `number`."""
    return f"{_PREFIX}{number}"


def job_number(key: str) -> int | None:
    """The job number in an APScheduler id, else None."""
    if key.startswith(_PREFIX) and key[len(_PREFIX) :].isdigit():
        return int(key[len(_PREFIX) :])
    return None


def encode(job: Job) -> bytes:
    """A job's state as JSON; only llmos's runner with a job number and a spec'd trigger."""
    spec = getattr(job.trigger, "llmos_spec", None)
    if job.func_ref != RUNNER or not isinstance(spec, TriggerSpec):
        raise ValueError(f"job {job.id!r} is not an llmos automation; it cannot be stored")
    state = {
        "version": STATE_VERSION,
        "id": job.id,
        "func": job.func_ref,
        "args": list(job.args),
        "trigger": spec.to_json(),
        "name": job.name,
        "misfire_grace_time": job.misfire_grace_time,
        "coalesce": job.coalesce,
        "max_instances": job.max_instances,
        "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None,
    }
    return json.dumps(state, sort_keys=True).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """APScheduler's job state from stored JSON; raises ValueError for anything else."""
    try:
        state = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the stored state is not JSON") from None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise ValueError("the stored state is not llmos's")
    args = state.get("args")
    if state.get("func") != RUNNER or not (
        isinstance(args, list) and len(args) == 1 and isinstance(args[0], int)
    ):
        raise ValueError("the stored state does not run an llmos automation")
    if job_number(str(state.get("id"))) != args[0]:
        raise ValueError("the stored state's id and job number differ")
    grace = state.get("misfire_grace_time")
    if grace is not None and not isinstance(grace, int):
        raise ValueError("the stored misfire grace time is not whole seconds")
    try:
        trigger = triggers.build(TriggerSpec.from_json(state.get("trigger")))
    except (SpecError, triggers.ScheduleError) as exc:
        raise ValueError(str(exc)) from None
    next_run = state.get("next_run_time")
    return {
        "version": 1,
        "id": state["id"],
        "func": RUNNER,
        "trigger": trigger,
        "executor": "default",
        "args": (args[0],),
        "kwargs": {},
        "name": str(state.get("name") or state["id"]),
        "misfire_grace_time": grace,
        "coalesce": bool(state.get("coalesce", True)),
        "max_instances": 1,
        "next_run_time": datetime.fromisoformat(next_run) if next_run else None,
    }


class JsonJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """SQLAlchemyJobStore whose job_state column holds llmos's JSON, never a pickle."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine=engine, tablename=TABLE)

    def add_job(self, job: Job) -> None:
        """Insert a job's JSON state."""
        insert = self.jobs_t.insert().values(
            id=job.id,
            next_run_time=datetime_to_utc_timestamp(job.next_run_time),
            job_state=encode(job),
        )
        with self.engine.begin() as connection:
            try:
                connection.execute(insert)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        """Replace a job's JSON state."""
        update = (
            self.jobs_t.update()
            .values(
                next_run_time=datetime_to_utc_timestamp(job.next_run_time), job_state=encode(job)
            )
            .where(self.jobs_t.c.id == job.id)
        )
        with self.engine.begin() as connection:
            if connection.execute(update).rowcount == 0:
                raise JobLookupError(job.id)

    def _reconstitute_job(self, job_state: bytes) -> Job:
        state = decode(job_state)
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job
