"""Unattended runs: the approved calls through Session.run_call, with a confirmer that never asks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from llmos_shell.app import App
from llmos_shell.calls import Decision, Risk, ToolCall, Verdict
from llmos_shell.safety.audit import AuditLog
from llmos_shell.scheduler.runner import UnattendedConfirmer, run_job
from llmos_shell.scheduler.spec import JobSpec, SpecError, folder_identity
from llmos_shell.scheduler.store import Store
from tests.unit.scheduler.conftest import job, shell


class NoInput:
    """A stdin that fails the test if anything tries to ask the person."""

    def readline(self, *args: object) -> str:
        raise AssertionError("an unattended run asked for input")

    read = readline

    def isatty(self) -> bool:
        return False


@pytest.fixture(autouse=True)
def nobody_at_the_keyboard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", NoInput())


def test_an_approved_read_only_job_runs_and_is_logged_before_and_after(
    app: App, store: Store
) -> None:
    number = store.add_job(job(shell("echo hello from the job")))
    outcome = run_job(store, app, number, reason="run-now", scheduled_for=None, runner="cli")
    assert (outcome.status, outcome.summary) == ("ok", "run_shell: hello from the job")
    (run,) = store.runs(number)
    assert run.status == "ok" and run.started_at and run.finished_at and run.runner == "cli"
    assert (
        run.detail[0]["approved_by"] == "policy"
    )  # read-only: the policy allows it, no one is asked
    assert [e.title for e in store.inbox()] == [f"automation {number}: ok"]


def test_a_run_that_needs_more_than_its_approved_risk_is_refused_and_logged(
    app: App, store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "written-by-the-job.txt"
    number = store.add_job(job(shell(f"echo hi > {target}"), risk=Risk.READ_ONLY))
    outcome = run_job(store, app, number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert outcome.status == "refused"
    assert not target.exists(), "the refused call ran"
    (run,) = store.runs(number)
    assert run.status == "refused"
    assert "it is write now, above the read-only approved at creation" in run.summary
    (audited,) = AuditLog(app.config.paths.audit_log).read()
    assert audited["outcome"] == {"status": "not run"}
    assert audited["request"] == f"automation {number}: the test action"
    assert audited["approved_by"] is None  # the audit keeps who approved only for calls that ran
    assert store.inbox()[0].title == f"automation {number}: refused"


def test_a_destructive_call_within_its_approval_runs_and_one_beyond_stops_the_run(
    app: App, store: Store, tmp_path: Path
) -> None:
    work = tmp_path / "work"  # tmp_path itself holds the home folder: the wall keeps it
    work.mkdir()
    doomed = work / "old.log"
    doomed.write_text("x")
    kept = work / "kept.txt"
    number = store.add_job(
        job(
            shell("rm old.log"),
            shell(f"sudo touch {kept}"),
            risk=Risk.DESTRUCTIVE,
            folder=str(work),  # created there: relative paths mean the same when it runs
        )
    )
    outcome = run_job(store, app, number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert outcome.detail[0]["ok"], outcome.detail
    assert not doomed.exists()
    assert (
        outcome.detail[0]["approved_by"] == f"automation {number}, approved by person at creation"
    )
    assert outcome.status == "refused" and not kept.exists()
    assert [d["tool"] for d in outcome.detail] == ["run_shell", "run_shell"]
    assert "privileged now, above the destructive approved" in outcome.detail[1]["refused"]


def test_a_job_runs_in_the_folder_it_was_created_in_and_says_when_that_is_gone(
    app: App, store: Store, tmp_path: Path
) -> None:
    here = tmp_path / "project"
    here.mkdir()
    number = store.add_job(job(shell("pwd"), folder=str(here)))
    outcome = run_job(store, app, number, reason="run-now", scheduled_for=None, runner="cli")
    assert (outcome.status, outcome.summary) == ("ok", f"run_shell: {here}")
    here.rmdir()
    outcome = run_job(store, app, number, reason="run-now", scheduled_for=None, runner="cli")
    assert outcome.status == "failed"
    assert (
        f"the folder {here} it was created in, where its calls run, no longer exists"
        in outcome.summary
    )


def decision(risk: Risk, **kw: object) -> Decision:
    return Decision(Verdict.ASK, risk, "test", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "seen", "why"),
    [
        (shell("rm -r ~/tmp"), decision(Risk.DESTRUCTIVE), None),
        (shell("rm -r ~/tmp"), decision(Risk.PRIVILEGED), "privileged now, above the destructive"),
        (shell("rm -r ~/other"), decision(Risk.READ_ONLY), "not one of the calls approved"),
        (
            shell("rm -r ~/tmp"),
            decision(Risk.WRITE, sensitive=("~/.ssh/id_rsa",)),
            "touches secrets",
        ),
        (shell("rm -r ~/tmp"), decision(Risk.WRITE, parsed=False), "cannot be read"),
    ],
)
def test_the_unattended_confirmer_compares_ranks_and_never_asks(
    call: ToolCall, seen: Decision, why: str | None, app: App
) -> None:
    confirmer = UnattendedConfirmer(job(shell("rm -r ~/tmp"), risk=Risk.DESTRUCTIVE), job_id=7)
    approval = confirmer(call, app.registry.get("run_shell"), seen)
    assert approval.approved is (why is None)
    if why is not None:
        assert why in approval.by and approval.by.startswith("automation 7 (unattended)")
        assert confirmer.refusals


def test_the_top_level_unknown_is_refused_by_rank_and_never_stored_as_approved(app: App) -> None:
    confirmer = UnattendedConfirmer(job(shell("ls"), risk=Risk.DESTRUCTIVE), job_id=1)
    approval = confirmer(shell("ls"), app.registry.get("run_shell"), decision(Risk.UNKNOWN))
    assert not approval.approved and "unknown now, above the destructive" in approval.by
    stored = job(shell("ls"), risk=Risk.UNKNOWN).dumps()
    with pytest.raises(SpecError, match="'unknown' is one no automation may have"):
        JobSpec.loads(stored)


def test_a_job_whose_folder_was_swapped_for_a_link_is_refused_and_says_so(
    app: App, store: Store, isolated_dirs: Path, tmp_path: Path
) -> None:
    home = isolated_dirs
    important = home / "important.log"
    important.write_text("keep me")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "old.log").write_text("x")
    spec = job(shell("rm -f *.log"), risk=Risk.DESTRUCTIVE, folder=str(logs))
    spec = replace(spec, folder_id=folder_identity(str(logs)))
    number = store.add_job(spec)
    logs.rename(tmp_path / "logs-moved")
    logs.symlink_to(home)  # the same path now leads to the home folder
    outcome = run_job(store, app, number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert outcome.status == "refused" and outcome.detail == []
    assert f"the folder {logs} it was created in now leads to {home}" in outcome.summary
    assert important.read_text() == "keep me"
    inbox = store.inbox()[0]
    assert inbox.title == f"automation {number}: refused" and "now leads to" in inbox.body
    logs.unlink()
    (tmp_path / "other").mkdir()
    (tmp_path / "other").rename(logs)  # a different folder at the same path
    outcome = run_job(store, app, number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert outcome.status == "refused" and "was replaced by another folder" in outcome.summary


def test_a_read_only_git_job_cannot_run_what_the_repository_config_gained(
    app: App, store: Store, tmp_path: Path
) -> None:
    from llmos_shell.safety.sandbox import availability

    if not availability().usable or shutil.which("git") is None:
        pytest.skip("needs bubblewrap and git")
    repo = tmp_path / "work" / "repo"
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f.txt").write_text("a\n")
    folder = str(tmp_path / "work")
    spec = job(shell("git -C repo status --short"), folder=folder)
    number = store.add_job(replace(spec, folder_id=folder_identity(folder)))
    canary = repo / "canary"
    subprocess.run(  # after approval, the repository gains a program git would run
        ["git", "-C", str(repo), "config", "core.fsmonitor", f"touch {canary}; false"], check=True
    )
    outcome = run_job(store, app, number, reason="scheduled", scheduled_for=None, runner="daemon")
    assert outcome.status == "ok", outcome.summary
    assert "f.txt" in outcome.summary
    assert not canary.exists()


def test_the_folder_identity_is_stored_and_read_back(tmp_path: Path) -> None:
    spec = replace(job(shell("ls"), folder=str(tmp_path)), folder_id=folder_identity(str(tmp_path)))
    again = JobSpec.loads(spec.dumps())
    assert again.folder_id == (tmp_path.stat().st_dev, tmp_path.stat().st_ino)
    assert JobSpec.loads(job(shell("ls")).dumps()).folder_id is None
    broken = spec.dumps().replace('"folder_id": [', '"folder_id": ["x", ')
    with pytest.raises(SpecError, match="is not \\[device, inode\\]"):
        JobSpec.loads(broken)
