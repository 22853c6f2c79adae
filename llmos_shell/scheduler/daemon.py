"""The daemon: the one APScheduler scheduler of a job store, and starting and stopping it.

`llmos daemon run` holds the store's lock (a second daemon refuses to start), marks runs that a
crash cut off as interrupted, turns the job specs into APScheduler jobs (and keeps doing so as
`llmos jobs` changes them), and runs them until SIGTERM. `start` runs it in the background with
a pid file and a log file; `stop` asks it to finish; `status` says whether one holds the lock.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.errors import (
    DaemonError,
    LlmosError,
)
from llmos_shell.scheduler import jobstore, triggers
from llmos_shell.scheduler.location import open_job_store, store_url
from llmos_shell.scheduler.lock import StoreLock, held_elsewhere
from llmos_shell.scheduler.runner import RunOutcome, Runtime, install
from llmos_shell.scheduler.store import JobRecord, Store, shown_url

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from llmos_shell.app import App
    from llmos_shell.config import LoadedConfig

log = logging.getLogger("llmos.scheduler")
POLL_S = 1.0  # how often the daemon looks for changed jobs and run-now requests
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DaemonFiles:
    """Where a daemon writes its pid and its log."""

    pid_file: Path
    log_file: Path

    @classmethod
    def of(cls, config: LoadedConfig) -> DaemonFiles:
        """The files in the state dir."""
        state = config.paths.state_dir
        return cls(state / "daemon.pid", state / "daemon.log")

    def read_pid(self) -> int | None:
        """The pid in the pid file, if it names a live process that started when it says."""
        try:
            pid_text, _, started = self.pid_file.read_text(encoding="utf-8").partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return pid if _alive(pid, float(started or 0) or None) else None


def _alive(pid: int | None, started: float | None = None) -> bool:
    import psutil

    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 1.0
    except psutil.Error:
        return False


def _process_started(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).create_time())


def refusal(url: str, holder: dict[str, Any] | None) -> str:
    """The one sentence a second daemon says."""
    who = ""
    if holder:
        where = "this machine" if holder.get("host") == socket.gethostname() else holder.get("host")
        who = f" (pid {holder.get('pid')} on {where}, since {holder.get('since', '?')})"
    return (
        f"another llmos daemon{who} already runs the automations in {shown_url(url)}, and two "
        "would run every job twice; stop it first with `llmos daemon stop`"
    )


class Daemon:
    """One scheduler over one store, until stopped."""

    def __init__(self, app: App, *, poll_s: float = POLL_S) -> None:
        self.app = app
        self.url = store_url(app.config)
        self.files = DaemonFiles.of(app.config)
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.cancel = threading.Event()
        self.lock = StoreLock(self.url)
        self.store: Store | None = None
        self.scheduler: BackgroundScheduler | None = None
        self._runs = 0

    def run(self) -> int:
        """Hold the lock, schedule, and run jobs until SIGTERM or SIGINT."""
        store = open_job_store(self.app.config)  # a damaged store is refused, never run empty
        if not self.lock.acquire():
            raise DaemonError(refusal(self.url, store.holder()))
        self.store = store
        try:
            self._serve(store)
        finally:
            self.lock.release()
            self._remove_pid_file()
        return 0

    def _serve(self, store: Store) -> None:
        pid = os.getpid()
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        store.set_holder({"pid": pid, "host": socket.gethostname(), "since": since})
        self.files.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.files.pid_file.write_text(f"{pid} {_process_started(pid)}\n", encoding="utf-8")
        cut = store.mark_interrupted(self._run_alive)
        if cut:
            log.warning(
                "runs %s were cut off when the daemon before this one stopped: marked interrupted",
                cut,
            )
        install(Runtime(store, self.app, self.cancel, on_run=self._ran))
        scheduler = self._scheduler(store)
        self.scheduler = scheduler
        scheduler.start(paused=True)  # nothing fires before the jobs match their specs
        revision = store.revision()
        reconcile(scheduler, store)
        scheduler.resume()
        log.info("llmos daemon %s started on %s", pid, shown_url(self.url))
        for signum in (signal.SIGTERM, signal.SIGINT):
            if threading.current_thread() is threading.main_thread():
                signal.signal(signum, lambda *_: self.stop.set())
        try:
            while not self.stop.wait(self.poll_s):
                if not self.lock.still_held():
                    log.error("lost the store's lock; stopping so that no job runs twice")
                    break
                latest = store.revision()
                if latest != revision:
                    revision = latest
                    reconcile(scheduler, store)
                for job_id in store.take_run_requests():
                    self._run_now(scheduler, job_id)
        finally:
            log.info("llmos daemon %s stopping", pid)
            self.cancel.set()
            scheduler.shutdown(wait=True)
            install(None)

    def _scheduler(self, store: Store) -> BackgroundScheduler:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        tz = triggers.zone(triggers.local_zone_name(self.app.config.settings.timezone))
        scheduler = BackgroundScheduler(
            jobstores={"default": jobstore.JsonJobStore(store.engine), "now": MemoryJobStore()},
            executors={"default": jobstore_executor()},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=tz,
        )
        scheduler.add_listener(self._missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        scheduler.add_listener(self._failed, EVENT_JOB_ERROR)
        return scheduler

    def _run_alive(self, pid: int | None, host: str | None, runner: str) -> bool:
        if runner == "daemon":
            return False  # this daemon holds the lock: any daemon run left "running" was cut off
        return host == socket.gethostname() and _alive(pid)

    def _run_now(self, scheduler: BackgroundScheduler, job_id: int) -> None:
        self._runs += 1
        scheduler.add_job(
            jobstore.RUNNER, "date", args=[job_id], kwargs={"reason": "run-now"},
            id=f"now-{job_id}-{self._runs}", jobstore="now", misfire_grace_time=None,
        )  # fmt: skip
        log.info("job %s: run now, as asked", job_id)

    def _ran(self, job_id: int, outcome: RunOutcome) -> None:
        log.info(
            "job %s run %s: %s in %.1f s: %s",
            job_id,
            outcome.run_id,
            outcome.status,
            outcome.duration_s,
            outcome.summary,
        )

    def _missed(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MISSED

        number = jobstore.job_number(event.job_id)
        if number is None or self.store is None:
            return
        when = _when(event)
        if event.code == EVENT_JOB_MISSED:
            status = "missed"
            summary = (
                f"missed: the daemon was not running at {when}, and this automation skips late runs"
            )
            record = _record(self.store, number)
            if (
                record is not None
                and record.spec is not None
                and record.spec.trigger.kind == "date"
            ):
                self.store.set_state(number, "finished")
        else:
            status, summary = (
                "skipped",
                f"skipped the run at {when}: the run before it was still going",
            )
        self.store.record_unrun(number, status=status, scheduled_for=when, summary=summary)
        log.warning("job %s: %s", number, summary)

    def _failed(self, event: Any) -> None:
        number = jobstore.job_number(event.job_id)
        log.error("job %s: the runner failed: %s", number or event.job_id, event.exception)

    def _remove_pid_file(self) -> None:
        try:
            text = self.files.pid_file.read_text(encoding="utf-8")
            if text.split(" ", 1)[0] == str(os.getpid()):
                self.files.pid_file.unlink()
        except OSError:
            pass


def _when(event: Any) -> str | None:
    moment = getattr(event, "scheduled_run_time", None)
    if isinstance(moment, list):
        moment = moment[-1] if moment else None
    return moment.isoformat() if moment is not None else None


def _record(store: Store, job_id: int) -> JobRecord | None:
    try:
        return store.job(job_id)
    except LlmosError:
        return None


def jobstore_executor() -> Any:
    """A thread pool that tells the runner which run time it is running."""
    from apscheduler.executors.pool import ThreadPoolExecutor

    class RunTimeExecutor(ThreadPoolExecutor):  # type: ignore[misc]
        def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
            super()._do_submit_job(_RunOf(job, run_times[-1]), run_times[-1:])

    return RunTimeExecutor(max_workers=4)


class _RunOf:
    """What APScheduler's run_job reads of a job, with the run time passed to the runner."""

    def __init__(self, job: Any, run_time: datetime) -> None:
        self.id = job.id
        self._jobstore_alias = job._jobstore_alias
        self.misfire_grace_time = job.misfire_grace_time
        self.func = job.func
        self.args = job.args
        self.kwargs = {**job.kwargs, "scheduled_for": run_time.isoformat()}
        self._name = str(job)

    def __str__(self) -> str:
        return self._name


def reconcile(scheduler: BackgroundScheduler, store: Store) -> None:
    """Make the scheduler's jobs match the specs: add, change, pause, resume, remove.

    A job new to the scheduler starts from when it was created (or from its last run), so runs
    that fell due while no daemon ran are due now, and meet their misfire policy.
    """
    wanted = {
        jobstore.job_key(r.id): r
        for r in store.jobs()
        if r.spec is not None and r.state in ("active", "paused")
    }
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    for key in existing.keys() - wanted.keys():
        scheduler.remove_job(key, jobstore="default")
        log.info("%s: removed", key)
    for key, record in wanted.items():
        spec = record.spec
        assert spec is not None
        try:
            trigger = triggers.build(spec.trigger)
        except triggers.ScheduleError as exc:
            log.error("%s: not scheduled: %s", key, exc)
            continue
        job = existing.get(key)
        if job is None:
            next_run = None
            if record.state == "active":
                next_run = trigger.get_next_fire_time(None, _since(store, record))
            scheduler.add_job(
                jobstore.RUNNER, trigger=trigger, args=[record.id], id=key, name=spec.action[:80],
                misfire_grace_time=spec.grace_s, coalesce=True, max_instances=1,
                next_run_time=next_run, jobstore="default", replace_existing=True,
            )  # fmt: skip
            log.info("%s: scheduled (%s), next run %s", key, spec.trigger.text, next_run)
            continue
        if getattr(job.trigger, "llmos_spec", None) != spec.trigger:
            scheduler.reschedule_job(key, jobstore="default", trigger=trigger)
        if job.misfire_grace_time != spec.grace_s:
            scheduler.modify_job(key, jobstore="default", misfire_grace_time=spec.grace_s)
        current = scheduler.get_job(key, jobstore="default")
        if record.state == "paused" and current.next_run_time is not None:
            scheduler.pause_job(key, jobstore="default")
        elif record.state == "active" and current.next_run_time is None:
            scheduler.resume_job(key, jobstore="default")


def _since(store: Store, record: JobRecord) -> datetime:
    """When a job's next run is counted from: its last scheduled run, else its creation."""
    moments = [datetime.fromisoformat(record.created_at)]
    for run in store.runs(record.id, limit=5):
        if run.reason == "scheduled" and run.scheduled_for:
            moments.append(datetime.fromisoformat(run.scheduled_for) + timedelta(seconds=1))
    return max(moment.astimezone(timezone.utc) for moment in moments)


# -- starting, stopping, status --------------------------------------------------------------


def start_background(config: LoadedConfig) -> int:
    """Start `llmos daemon run` in the background; returns its pid once it holds the lock."""
    url = store_url(config)
    files = DaemonFiles.of(config)
    open_job_store(config)  # refuses a damaged store before anything starts
    if held_elsewhere(url):
        raise DaemonError(refusal(url, Store(url).holder()))
    files.log_file.parent.mkdir(parents=True, exist_ok=True)
    with files.log_file.open("ab") as log_out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llmos_shell.cli", "daemon", "run"],
            stdin=subprocess.DEVNULL, stdout=log_out, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DaemonError(
                _last_error(files.log_file)
                or f"the daemon exited at once (status {process.returncode}); see {files.log_file}"
            )
        if files.read_pid() == process.pid:
            return process.pid
        time.sleep(0.05)
    process.terminate()
    raise DaemonError(
        f"the daemon did not start within {START_TIMEOUT_S:g} s; see {files.log_file}"
    )


def _last_error(log_file: Path) -> str | None:
    try:
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines[-20:]):
        if line.startswith("llmos: error: "):
            return line[len("llmos: error: ") :]
    return None


def stop_daemon(config: LoadedConfig) -> int:
    """Ask the daemon to stop and wait until it has; returns its pid."""
    files = DaemonFiles.of(config)
    pid = files.read_pid()
    if pid is None:
        if files.pid_file.exists():
            files.pid_file.unlink(missing_ok=True)
        if held_elsewhere(store_url(config)):
            holder = Store(store_url(config)).holder() or {}
            raise DaemonError(
                f"the daemon holding the store runs elsewhere (pid {holder.get('pid')} on "
                f"{holder.get('host')}); stop it there"
            )
        raise DaemonError("the daemon is not running; start it with `llmos daemon start`")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(pid):
            return pid
        time.sleep(0.05)
    raise DaemonError(
        f"the daemon (pid {pid}) did not stop within {STOP_TIMEOUT_S:g} s; see {files.log_file}"
    )


@dataclass(frozen=True)
class DaemonStatus:
    """Whether a daemon runs this store's jobs, and which."""

    running: bool
    pid: int | None
    holder: dict[str, Any] | None
    url: str
    files: DaemonFiles

    def to_json(self) -> dict[str, Any]:
        """For `llmos daemon status --json`."""
        return {
            "running": self.running,
            "pid": self.pid,
            "holder": self.holder,
            "store": shown_url(self.url),
            "pid_file": str(self.files.pid_file),
            "log_file": str(self.files.log_file),
        }


def daemon_status(config: LoadedConfig) -> DaemonStatus:
    """Whether the store's lock is held, and by whom."""
    url = store_url(config)
    files = DaemonFiles.of(config)
    running = held_elsewhere(url)
    holder = Store(url).holder() if running else None
    return DaemonStatus(running, files.read_pid() if running else None, holder, url, files)


SYSTEMD_UNIT = """\
[Unit]
Description=llmos automations (the scheduler daemon)
After=network-online.target

[Service]
Type=simple
ExecStart={python} -m llmos_shell.cli daemon run
Restart=on-failure
RestartSec=10
{environment}
[Install]
WantedBy=default.target
"""


def systemd_unit() -> str:
    """A systemd user unit that runs the daemon, keeping any moved llmos folders."""
    keep = ("LLMOS_CONFIG_DIR", "LLMOS_DATA_DIR", "LLMOS_STATE_DIR", "LLMOS_CACHE_DIR")
    environment = "".join(
        f"Environment={name}={os.environ[name]}\n" for name in keep if os.environ.get(name)
    )
    return SYSTEMD_UNIT.format(python=sys.executable, environment=environment)


def systemd_unit_path() -> Path:
    """Where systemd looks for user units."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user" / "llmos.service"
