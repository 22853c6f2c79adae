"""Running a job while nobody watches: its approved calls, through the one pipeline.

Each call goes through `Session.run_call`, as every call does, with a confirmer that never
prompts: a call runs only if it is one of the calls approved at creation and its risk, judged
again now, is no higher than the risk the person approved. Anything else is refused, written
to the run log and the inbox, and the run stops there. The run log gets its entry before the
first call and its outcome after the last, so a run cut off by a crash shows as interrupted.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmos_shell.calls import Approval, Approver, Decision, Risk, ToolCall
from llmos_shell.safety.approval import Ceiling, person_only, unattended
from llmos_shell.safety.kernel import ApprovedCallsGuard
from llmos_shell.scheduler.spec import folder_identity
from llmos_shell.session import Session

if TYPE_CHECKING:
    from llmos_shell.app import App
    from llmos_shell.registry import Tool
    from llmos_shell.scheduler.spec import JobSpec
    from llmos_shell.scheduler.store import Store

SUMMARY_CHARS = 300
DETAIL_CHARS = 2000


class UnattendedConfirmer:
    """Answers for a job's run without asking anyone; every no says why.

    The job's ceiling (the risk the person approved at creation) runs what the one approval
    rule lets it; this confirmer is asked only about the rest, and refuses each with the
    reason: a call that is not one of the approved calls, a risk ranked above the approved one
    (so a level added above the others is refused too), a read of secrets, and a shell command
    that could not be read.
    """

    def __init__(self, spec: JobSpec, job_id: int) -> None:
        self.approved = ApprovedCallsGuard(tuple(call.to_json() for call in spec.calls))
        self.approved_risk = spec.approved_risk
        self.job_id = job_id
        by = spec.approved_by or "the person"
        self.ceiling = Ceiling.automation(
            spec.approved_risk, f"automation {job_id}, approved by {by} at creation"
        )
        self.refusals: list[str] = []

    @property
    def guards(self) -> tuple[ApprovedCallsGuard, ...]:
        """What the kernel checks for this job besides the policy: only its approved calls."""
        return (self.approved,)

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        """Yes only for an approved call within the approved risk; never prompts."""
        why = self.refusal(call, decision)
        if why is not None:
            self.refusals.append(f"{call.tool}: {why}")
            return Approval(
                False, by=f"automation {self.job_id} (unattended): {why}", approver=Approver.NOBODY
            )
        return Approval(True, by=self.ceiling.by, approver=Approver.AUTOMATION)

    def refusal(self, call: ToolCall, decision: Decision) -> str | None:
        """Why this call may not run unattended, or None."""
        if not self.approved.admits(call):
            return self.approved.REASON
        if unattended(decision, self.ceiling) is True:
            return None
        if not self.ceiling.admits(decision.risk):
            return (
                f"it is {decision.risk.value} now, above the {self.approved_risk.value} "
                "approved at creation"
            )
        only = person_only(decision)
        return f"{only}, never approved in advance" if only else "it needs a person's yes"


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended."""

    run_id: int
    status: str
    summary: str
    detail: list[dict[str, Any]]
    duration_s: float


def run_job(
    store: Store,
    app: App,
    job_id: int,
    *,
    reason: str,
    scheduled_for: str | None,
    runner: str,
    cancel: threading.Event | None = None,
) -> RunOutcome:
    """Run one job's calls now, unattended, and log the run before and after."""
    record = store.job(job_id)
    if record.spec is None:
        run_id = store.start_run(job_id, reason=reason, scheduled_for=scheduled_for, runner=runner)
        why = f"not run: its stored spec is damaged ({record.error})"
        store.finish_run(run_id, status="failed", summary=why, detail=[], duration_s=0.0)
        return RunOutcome(run_id, "failed", why, [], 0.0)
    spec = record.spec
    still = [run for run in store.running(job_id) if _running_elsewhere(run.pid, run.host)]
    if still:
        why = f"skipped: run {still[0].id} of this automation is still going (pid {still[0].pid})"
        skipped = store.record_unrun(
            job_id, status="skipped", scheduled_for=scheduled_for, summary=why
        )
        return RunOutcome(skipped, "skipped", why, [], 0.0)
    once = spec.trigger.kind == "date" and reason == "scheduled"
    run_id = store.start_run(
        job_id, reason=reason, scheduled_for=scheduled_for, runner=runner, finishes_job=once
    )
    started = time.monotonic()
    confirmer = UnattendedConfirmer(spec, job_id)
    session = call_session(app, confirmer, spec.timeout_s)
    session.folder = spec.folder
    detail: list[dict[str, Any]] = []
    status, summaries = "ok", []
    if spec.folder is not None and not os.path.isdir(spec.folder):
        why = (
            f"not run: the folder {spec.folder} it was created in, where its calls run, no "
            f"longer exists; create it again, or remove the automation (llmos jobs remove {job_id})"
        )
        store.finish_run(run_id, status="failed", summary=why, detail=[], duration_s=0.0)
        return RunOutcome(run_id, "failed", why, [], 0.0)
    changed = folder_changed(spec)
    if changed is not None:
        why = (
            f"refused: {changed}, so its calls would act on what was never approved; approve it "
            f"again from that folder, or remove it (llmos jobs remove {job_id})"
        )
        store.finish_run(run_id, status="refused", summary=why, detail=[], duration_s=0.0)
        return RunOutcome(run_id, "refused", why, [], 0.0)
    for call in spec.calls:
        step = session.run_call(call, request=f"automation {job_id}: {spec.action}", cancel=cancel)
        entry: dict[str, Any] = {
            "tool": call.tool,
            "arguments": call.arguments,
            "risk": step.decision.risk.value,
            "verdict": step.decision.verdict.value,
            "approved_by": step.approval.by if step.approval else None,
        }
        result = step.result
        if result is None:
            status = "refused"
            approval = step.approval
            entry["refused"] = (
                step.decision.reason
                if approval is None or approval.approver is Approver.POLICY
                else approval.by
            )
            summaries.append(f"{call.tool} refused: {entry['refused']}")
            detail.append(entry)
            break
        entry.update(ok=result.ok, duration_s=round(result.duration_s, 3))
        if result.cancelled:
            status = "cancelled"
            summaries.append(f"{call.tool} cancelled: the daemon was stopped")
            detail.append(entry)
            break
        if not result.ok:
            status = "failed"
            entry["error"] = result.error
            summaries.append(f"{call.tool} failed: {result.error}")
            detail.append(entry)
            break
        entry["output"] = _cut(_as_text(result.data), DETAIL_CHARS)
        summaries.append(
            f"{call.tool}: {_cut(summarize(result.data), SUMMARY_CHARS // len(spec.calls))}"
        )
        detail.append(entry)
    duration = time.monotonic() - started
    summary = _cut("; ".join(summaries), SUMMARY_CHARS)
    store.finish_run(run_id, status=status, summary=summary, detail=detail, duration_s=duration)
    return RunOutcome(run_id, status, summary, detail, duration)


def folder_changed(spec: JobSpec) -> str | None:
    """How the job's folder is no longer the one approved (a link now, or another folder at
    the same path), or None when it still is."""
    folder = spec.folder
    if folder is None:
        return None
    real = os.path.realpath(folder)
    if real != os.path.normpath(folder):
        return f"the folder {folder} it was created in now leads to {real}"
    if spec.folder_id is not None and folder_identity(folder) != spec.folder_id:
        return f"the folder {folder} it was created in was replaced by another folder"
    return None


def _running_elsewhere(pid: int | None, host: str | None) -> bool:
    """Whether the process that started a run may still be running it."""
    import psutil

    if host != socket.gethostname():
        return True  # another machine's daemon: its lock says it is alive
    if not pid:
        return False
    try:
        status: str = psutil.Process(pid).status()  # psutil has no type information
        zombie: str = psutil.STATUS_ZOMBIE
        return status != zombie
    except psutil.Error:
        return False


def call_session(app: App, confirmer: UnattendedConfirmer, timeout_s: float) -> Session:
    """A pipeline for calls already planned: the app's tools, audit log and undo journal, no
    model loaded, the job's ceiling and approved calls, each call held to its own time limit."""
    session = app.session(
        confirmer=confirmer, planning=False, ceiling=confirmer.ceiling, guards=confirmer.guards
    )
    session.tool_timeout_s = timeout_s
    return session


def summarize(data: Any) -> str:
    """A tool's output in a line: a command's output, a row count, a record's values."""
    if isinstance(data, dict) and "stdout" in data:
        text = (
            str(data.get("stdout") or "").strip()
            or str(data.get("stderr") or "").strip()
            or "(no output)"
        )
        code = data.get("exit_code")
        return text if code in (0, None) else f"exit status {code}: {text}"
    if isinstance(data, list):
        return f"{len(data)} rows" + (f", first: {_as_text(data[0])}" if data else "")
    if isinstance(data, dict):
        rows = {k: v for k, v in data.items() if isinstance(v, list)}
        plain = {k: v for k, v in data.items() if not isinstance(v, (list, dict))}
        parts = [f"{k} {v}" for k, v in plain.items() if f"{k}_human" not in data]
        parts += [f"{len(v)} {k}" for k, v in rows.items()]
        return ", ".join(parts) or _as_text(data)
    return _as_text(data)


def _as_text(data: Any) -> str:
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, default=str)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


# -- the function APScheduler calls ------------------------------------------------------------


@dataclass
class Runtime:
    """What the daemon gives the runner: the store, the app, and the stop signal."""

    store: Store
    app: App
    cancel: threading.Event
    on_run: Callable[[int, RunOutcome], None] | None = None


_RUNTIME: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Set (or clear) what `run_scheduled` runs with; the daemon does it at start."""
    global _RUNTIME
    _RUNTIME = runtime


def run_scheduled(job_id: int, scheduled_for: str | None = None, reason: str = "scheduled") -> str:
    """The one function registered with APScheduler: run job `job_id` in this daemon."""
    runtime = _RUNTIME
    if runtime is None:
        raise RuntimeError("run_scheduled runs inside `llmos daemon`, which sets its runtime")
    outcome = run_job(
        runtime.store,
        runtime.app,
        job_id,
        reason=reason,
        scheduled_for=scheduled_for if reason == "scheduled" else None,
        runner="daemon",
        cancel=runtime.cancel,
    )
    if runtime.on_run is not None:
        runtime.on_run(job_id, outcome)
    return outcome.status


def highest_risk(risks: list[Risk]) -> Risk:
    """The highest of some risks, by rank."""
    return max(risks, key=lambda risk: risk.rank)
