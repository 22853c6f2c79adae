"""The job store: job specs as JSON, the run log, the inbox, and who runs the scheduler.

SQLite in the data dir by default, or the database at `jobs_database_url` (PostgreSQL). The
command line writes only these tables; the one daemon holding the store's lock turns them into
APScheduler jobs (`jobstore.py`), so two schedulers never share a store. Every run is written
here before it starts and when it ends, so a run cut off by a crash shows as interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from llmos_shell.config.store_marker import StoreMarkers
from llmos_shell.errors import (
    SpecError,
    StoreDamaged,
    StoreError,
)
from llmos_shell.scheduler.spec import JobSpec

METADATA = sa.MetaData()
JOBS = sa.Table(
    "llmos_jobs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # active, paused, finished
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("run_requested_at", sa.String(40)),
)
RUNS = sa.Table(
    "llmos_runs",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.Integer, nullable=False, index=True),
    sa.Column("reason", sa.String(16), nullable=False),  # scheduled, run-now
    sa.Column("scheduled_for", sa.String(40)),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    # running, ok, failed, refused, missed, skipped, interrupted, cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, default=""),
    sa.Column("detail", sa.Text, nullable=False, default="[]"),
    sa.Column("duration_s", sa.Float),
    sa.Column("runner", sa.String(16), nullable=False, default="daemon"),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(255)),
)
INBOX = sa.Table(
    "llmos_inbox",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # run, message
    sa.Column("job_id", sa.Integer),
    sa.Column("run_id", sa.Integer),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False, default=""),
    sa.Column("seen", sa.Boolean, nullable=False, default=False),
)
META = sa.Table(
    "llmos_meta",
    METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
FINISHED_STATUSES = ("ok", "failed", "refused", "missed", "skipped", "interrupted", "cancelled")


def now_iso() -> str:
    """The time now, in UTC, as stored."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, else None."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


@dataclass(frozen=True)
class JobRecord:
    """One stored job: its spec (None when the stored JSON is not what llmos wrote)."""

    id: int
    spec: JobSpec | None
    error: str | None
    state: str
    created_at: str
    updated_at: str
    run_requested_at: str | None


@dataclass(frozen=True)
class RunRecord:
    """One entry of the run log."""

    id: int
    job_id: int
    reason: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    status: str
    summary: str
    detail: list[dict[str, Any]]
    duration_s: float | None
    runner: str
    pid: int | None
    host: str | None


@dataclass(frozen=True)
class InboxEntry:
    """A message for the person: a run's outcome or a reminder."""

    id: int
    created_at: str
    kind: str
    job_id: int | None
    run_id: int | None
    title: str
    body: str
    seen: bool


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_url(url: str) -> str:
    """The URL SQLAlchemy is given: PostgreSQL through psycopg 3 unless a driver is named."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def get_engine(url: str) -> Engine:
    """One engine per database URL and process."""
    with _ENGINES_LOCK:
        if url in _ENGINES:
            return _ENGINES[url]
        path = sqlite_path(url)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            elif url.startswith(("postgresql", "postgres")):
                engine = sa.create_engine(engine_url(url), pool_pre_ping=True)
            else:
                raise StoreError(
                    f"the job store {shown_url(url)!r} is neither SQLite nor PostgreSQL; set "
                    "jobs_database_url to postgresql://USER@HOST/DB, or leave it empty for SQLite"
                )
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the job store {shown_url(url)} needs the {exc.name} package; install it with "
                "pip install 'llmos-shell[postgres]'"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create the job store's folder for {url} ({exc.strerror})"
            ) from None
        _ENGINES[url] = engine
        return engine


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the daemon's writes
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """The tables of one job store; every write is one transaction.

    With `markers` (the state folder's record of what each store held), a store that is
    empty, truncated or replaced where it held automations raises StoreDamaged on opening,
    and every change of the jobs is noted there, with a copy of their specs.
    """

    def __init__(self, url: str, markers: StoreMarkers | None = None) -> None:
        self.url = url
        self.engine = get_engine(url)
        self.markers = markers
        try:
            METADATA.create_all(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open the job store {shown_url(url)} ({_short(exc)})"
            ) from None
        if markers is not None:
            self._check_marker(markers)

    def _check_marker(self, markers: StoreMarkers) -> None:
        with self.engine.connect() as conn:
            identity = conn.execute(
                sa.select(META.c.value).where(META.c.key == "identity")
            ).scalar()
            count = int(conn.execute(sa.select(sa.func.count()).select_from(JOBS)).scalar() or 0)
        damage = markers.check(shown_url(self.url), identity, count)
        if damage is not None:
            raise StoreDamaged(damage.sentence("job store", "`llmos jobs restore`"))
        if identity is None:
            self._set_meta("identity", uuid.uuid4().hex)
        self.note_jobs()

    def note_jobs(self) -> None:
        """Note in the marker how many jobs the store holds now, with a copy of their specs."""
        if self.markers is None:
            return
        with self.engine.connect() as conn:
            identity = conn.execute(
                sa.select(META.c.value).where(META.c.key == "identity")
            ).scalar()
            specs = [row.spec for row in conn.execute(sa.select(JOBS.c.spec).order_by(JOBS.c.id))]
        if identity is None:
            return
        self.markers.record(shown_url(self.url), str(identity), len(specs), specs)

    # -- jobs ------------------------------------------------------------------------------

    def _bump(self, conn: sa.Connection) -> None:
        current = conn.execute(sa.select(META.c.value).where(META.c.key == "revision")).scalar()
        if current is None:
            conn.execute(META.insert().values(key="revision", value="1"))
        else:
            conn.execute(
                META.update().where(META.c.key == "revision").values(value=str(int(current) + 1))
            )

    def revision(self) -> int:
        """A number that changes whenever a job is added, changed or removed."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(META.c.value).where(META.c.key == "revision")).scalar()
        return int(value or 0)

    def add_job(self, spec: JobSpec) -> int:
        """Store a new, approved job; returns its number."""
        stamp = now_iso()
        with self._write() as conn:
            result = conn.execute(
                JOBS.insert().values(
                    spec=spec.dumps(), state="active", created_at=stamp, updated_at=stamp
                )
            )
            self._bump(conn)
            key = result.inserted_primary_key
        assert key is not None
        self.note_jobs()
        return int(key[0])

    def jobs(self) -> list[JobRecord]:
        """Every job, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(JOBS).order_by(JOBS.c.id)).fetchall()
        return [_job(row) for row in rows]

    def job(self, job_id: int) -> JobRecord:
        """One job; raises StoreError naming the jobs there are."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).first()
        if row is None:
            known = ", ".join(str(job.id) for job in self.jobs()) or "none yet"
            raise StoreError(
                f"there is no automation {job_id}; the automations are: {known} (see `llmos jobs list`)"
            )
        return _job(row)

    def set_state(self, job_id: int, state: str) -> None:
        """Mark a job active, paused or finished."""
        self.job(job_id)
        with self._write() as conn:
            conn.execute(
                JOBS.update().where(JOBS.c.id == job_id).values(state=state, updated_at=now_iso())
            )
            self._bump(conn)

    def remove_job(self, job_id: int) -> None:
        """Delete a job; its run log stays."""
        self.job(job_id)
        with self._write() as conn:
            conn.execute(JOBS.delete().where(JOBS.c.id == job_id))
            self._bump(conn)
        self.note_jobs()

    def restore_jobs(self, identity: str, specs: list[str]) -> int:
        """Put back the jobs of a damaged store from the marker's copy (as the store it was,
        so `identity` is the one recorded); returns how many were added."""
        stamp = now_iso()
        with self._write() as conn:
            for spec in specs:
                conn.execute(
                    JOBS.insert().values(
                        spec=spec, state="active", created_at=stamp, updated_at=stamp
                    )
                )
            self._bump(conn)
        self._set_meta("identity", identity)
        self.note_jobs()
        return len(specs)

    def request_run(self, job_id: int) -> None:
        """Ask the daemon to run a job now."""
        self.job(job_id)
        with self._write() as conn:
            conn.execute(
                JOBS.update().where(JOBS.c.id == job_id).values(run_requested_at=now_iso())
            )
            self._bump(conn)

    def take_run_requests(self) -> list[int]:
        """The jobs asked to run now, clearing the requests."""
        with self._write() as conn:
            rows = conn.execute(
                sa.select(JOBS.c.id).where(JOBS.c.run_requested_at.is_not(None))
            ).fetchall()
            ids = [int(row[0]) for row in rows]
            if ids:
                conn.execute(JOBS.update().where(JOBS.c.id.in_(ids)).values(run_requested_at=None))
        return ids

    # -- the run log -----------------------------------------------------------------------

    def start_run(
        self,
        job_id: int,
        *,
        reason: str,
        scheduled_for: str | None,
        runner: str,
        finishes_job: bool = False,
    ) -> int:
        """Write that a run starts, before anything runs; a one-off job is finished with it."""
        with self._write() as conn:
            result = conn.execute(
                RUNS.insert().values(
                    job_id=job_id, reason=reason, scheduled_for=scheduled_for, started_at=now_iso(),
                    status="running", summary="", detail="[]", runner=runner, pid=os.getpid(),
                    host=socket.gethostname(),
                )
            )  # fmt: skip
            if finishes_job:
                conn.execute(
                    JOBS.update()
                    .where(JOBS.c.id == job_id)
                    .values(state="finished", updated_at=now_iso())
                )
                self._bump(conn)
            key = result.inserted_primary_key
        assert key is not None
        self.note_jobs()
        return int(key[0])

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        summary: str,
        detail: list[dict[str, Any]],
        duration_s: float,
    ) -> None:
        """Write how a run ended, and put its outcome in the inbox."""
        with self._write() as conn:
            conn.execute(
                RUNS.update().where(RUNS.c.id == run_id).values(
                    status=status, summary=summary, finished_at=now_iso(), duration_s=round(duration_s, 3),
                    detail=json.dumps(detail, ensure_ascii=False, default=str),
                )
            )  # fmt: skip
            job_id = conn.execute(sa.select(RUNS.c.job_id).where(RUNS.c.id == run_id)).scalar()
            self._inbox(conn, "run", f"automation {job_id}: {status}", summary, job_id, run_id)

    def record_unrun(
        self, job_id: int, *, status: str, scheduled_for: str | None, summary: str
    ) -> int:
        """Write a run that did not happen (missed while down, skipped while one still ran)."""
        stamp = now_iso()
        with self._write() as conn:
            result = conn.execute(
                RUNS.insert().values(
                    job_id=job_id, reason="scheduled", scheduled_for=scheduled_for, started_at=None,
                    finished_at=stamp, status=status, summary=summary, detail="[]", runner="daemon",
                    pid=os.getpid(), host=socket.gethostname(),
                )
            )  # fmt: skip
            key = result.inserted_primary_key
            assert key is not None
            self._inbox(conn, "run", f"automation {job_id}: {status}", summary, job_id, int(key[0]))
        return int(key[0])

    def mark_interrupted(self, alive: Any) -> list[int]:
        """Runs left "running" by a process that is gone are marked interrupted; returns them.

        `alive(pid, host, runner)` says whether the process that started a run still runs.
        """
        with self._write() as conn:
            rows = conn.execute(sa.select(RUNS).where(RUNS.c.status == "running")).fetchall()
            cut = [row for row in rows if not alive(row.pid, row.host, row.runner)]
            for row in cut:
                summary = f"interrupted: the {row.runner} running it (pid {row.pid}) stopped before it finished"
                conn.execute(
                    RUNS.update()
                    .where(RUNS.c.id == row.id)
                    .values(status="interrupted", summary=summary, finished_at=now_iso())
                )
                self._inbox(
                    conn,
                    "run",
                    f"automation {row.job_id}: interrupted",
                    summary,
                    row.job_id,
                    row.id,
                )
        return [int(row.id) for row in cut]

    def runs(self, job_id: int | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        query = sa.select(RUNS).order_by(RUNS.c.id.desc()).limit(limit)
        if job_id is not None:
            query = query.where(RUNS.c.job_id == job_id)
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).fetchall()]

    def running(self, job_id: int) -> list[RunRecord]:
        """The runs of a job that have started and not ended."""
        query = sa.select(RUNS).where(RUNS.c.job_id == job_id, RUNS.c.status == "running")
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).fetchall()]

    # -- the inbox -------------------------------------------------------------------------

    def _inbox(
        self,
        conn: sa.Connection,
        kind: str,
        title: str,
        body: str,
        job_id: Any = None,
        run_id: Any = None,
    ) -> None:
        conn.execute(
            INBOX.insert().values(
                created_at=now_iso(),
                kind=kind,
                job_id=job_id,
                run_id=run_id,
                title=title,
                body=body,
                seen=False,
            )
        )

    def deliver(self, title: str, body: str, job_id: int | None = None) -> int:
        """Put a message in the inbox; returns its number."""
        with self._write() as conn:
            self._inbox(conn, "message", title, body, job_id)
            return int(conn.execute(sa.select(sa.func.max(INBOX.c.id))).scalar() or 0)

    def inbox(self, *, unseen_only: bool = True, limit: int = 50) -> list[InboxEntry]:
        """Inbox entries, oldest first."""
        query = sa.select(INBOX).order_by(INBOX.c.id.desc()).limit(limit)
        if unseen_only:
            query = query.where(INBOX.c.seen.is_(False))
        with self.engine.connect() as conn:
            rows = conn.execute(query).fetchall()
        return [
            InboxEntry(
                r.id, r.created_at, r.kind, r.job_id, r.run_id, r.title, r.body, bool(r.seen)
            )
            for r in reversed(rows)
        ]

    def mark_seen(self, ids: list[int]) -> None:
        """Mark inbox entries as read."""
        if ids:
            with self._write() as conn:
                conn.execute(INBOX.update().where(INBOX.c.id.in_(ids)).values(seen=True))

    # -- who holds the scheduler -----------------------------------------------------------

    def set_holder(self, info: dict[str, Any]) -> None:
        """Record which daemon runs this store's scheduler."""
        self._set_meta("daemon", json.dumps(info))

    def holder(self) -> dict[str, Any] | None:
        """The daemon last recorded as running this store's scheduler."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(META.c.value).where(META.c.key == "daemon")).scalar()
        try:
            data = json.loads(value) if value else None
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def _set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            if conn.execute(sa.select(META.c.key).where(META.c.key == key)).first() is None:
                conn.execute(META.insert().values(key=key, value=value))
            else:
                conn.execute(META.update().where(META.c.key == key).values(value=value))

    def scheduled_times(self) -> dict[int, datetime | None]:
        """The next run the daemon's scheduler holds for each job (absent: not scheduled yet)."""
        from llmos_shell.scheduler.jobstore import TABLE, job_number

        table = sa.Table(
            TABLE,
            sa.MetaData(),
            sa.Column("id", sa.Unicode(191)),
            sa.Column("next_run_time", sa.Float(25)),
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(table.c.id, table.c.next_run_time)).fetchall()
        except sa.exc.SQLAlchemyError:
            return {}  # no daemon has run yet: the table does not exist
        times: dict[int, datetime | None] = {}
        for key, stamp in rows:
            number = job_number(key)
            if number is not None:
                times[number] = (
                    None if stamp is None else datetime.fromtimestamp(stamp, timezone.utc)
                )
        return times

    # -- plumbing --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One transaction; a database error becomes one sentence."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(
                f"cannot write the job store {shown_url(self.url)} ({_short(exc)})"
            ) from None


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _job(row: Any) -> JobRecord:
    try:
        spec: JobSpec | None = JobSpec.loads(row.spec)
        error = None
    except SpecError as exc:
        spec, error = None, str(exc)
    return JobRecord(
        row.id, spec, error, row.state, row.created_at, row.updated_at, row.run_requested_at
    )


def _run(row: Any) -> RunRecord:
    try:
        detail = json.loads(row.detail or "[]")
    except json.JSONDecodeError:
        detail = []
    return RunRecord(
        row.id, row.job_id, row.reason, row.scheduled_for, row.started_at, row.finished_at,
        row.status, row.summary or "", detail if isinstance(detail, list) else [], row.duration_s,
        row.runner, row.pid, row.host,
    )  # fmt: skip
